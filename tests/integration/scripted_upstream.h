#pragma once
// A plain-HTTP upstream on 127.0.0.1 for in-process tests. Each accepted connection gets a thread
// that reads requests (head plus Content-Length or chunked body) and lets the test's handler
// write the reply with blocking sends. Everything stops in the destructor.
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "loopback_server.h"

namespace regcache::test {

struct RecordedRequest {
  std::string head; // request line and headers, CRLFs included, without the blank line
  std::string body; // decoded
  std::string requestLine() const { return head.substr(0, head.find("\r\n")); }
  bool hasHeaderLine(const std::string &line) const;
};

class UpstreamReply {
public:
  explicit UpstreamReply(int fd, std::atomic<std::uint64_t> &sentCounter)
      : fd_(fd), sent_(sentCounter) {}
  // Blocking send; returns false once the connection is gone.
  bool send(const std::string &bytes);
  // The handler asks to close the connection after this reply.
  bool closeAfter = false;

private:
  int fd_;
  std::atomic<std::uint64_t> &sent_;
};

class ScriptedUpstream {
public:
  using Handler = std::function<void(const RecordedRequest &, UpstreamReply &)>;
  explicit ScriptedUpstream(Handler handler);
  ~ScriptedUpstream();

  uint16_t port() const { return server_->port(); }
  int connectionsAccepted() const { return server_->connectionsAccepted(); }
  std::uint64_t bytesSent() const { return sent_.load(); }
  std::vector<RecordedRequest> requests() const;

private:
  void serve(int fd);
  const std::atomic<bool> &stopping() const { return server_->stopping(); }

  Handler handler_;
  std::atomic<std::uint64_t> sent_{0};
  mutable std::mutex mutex_;
  std::vector<RecordedRequest> requests_;
  std::optional<LoopbackServer> server_; // last: its threads use the members above
};

// A complete response with a Content-Length body.
std::string okResponse(const std::string &body, const std::string &extraHeaders = "");

} // namespace regcache::test
