#pragma once
// Stands in for a client that went away while its handler still has work others depend on (a
// cache fill that followers read). Output is discarded, it is never full, and finishing or
// failing hands the handler back to the worker to be freed.
#include <string>

#include "base/event_handles.h"
#include "proxy/request_handler.h"

namespace regcache::proxy {

class DetachedClient final : public ClientSide {
public:
  // `owner` is the handler adopted by `worker` (Worker::adopt).
  DetachedClient(Worker &worker, RequestHandler &owner, const ClientSide &leaving);

  Worker &worker() override { return worker_; }
  const std::string &logPrefix() const override { return prefix_; }
  const net::SocketAddress &peer() const override { return peer_; }
  const std::string &user() const override { return user_; }
  evbuffer *clientOutput() override;
  bool clientOutputFull() const override { return false; }
  void pauseClientReads(bool) override {}
  void onResponseComplete(bool keepAlive) override;
  void abortClient(const std::string &reason) override;
  void forwardInstead() override;
  void replaceHandler(std::unique_ptr<RequestHandler> next) override;

private:
  void done();

  Worker &worker_;
  RequestHandler &owner_;
  std::string prefix_;
  net::SocketAddress peer_;
  std::string user_;
  EvBufferPtr sink_;
  bool done_ = false;
};

} // namespace regcache::proxy
