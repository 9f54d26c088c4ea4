#pragma once
// Serves a client whose blob another request is already fetching: it waits for the leader's
// response head, then streams the leader's write as it grows (a late joiner starts from the
// first byte), and finishes when the fill is committed. The leader wakes it through this worker's
// mailbox whenever bytes land; it never polls. If the fill fails before anything was
// sent, the request is forwarded on its own; after, the client connection is dropped, so a
// client never sees a complete response with wrong bytes.
//
// A client whose credential is not the leader's first waits for upstream's word (JoinCheck): a
// yes lets it read the fill, anything else forwards its request on its own, so it gets
// upstream's own refusal and no byte of the fill.
#include <atomic>
#include <memory>
#include <optional>

#include "base/event_handles.h"
#include "base/oci/digest.h"
#include "cache/blob_store.h"
#include "cache/fill_registry.h"
#include "proxy/cache/join_check.h"
#include "proxy/http/message.h"
#include "proxy/net/connector.h"
#include "proxy/net/loop_mailbox.h"
#include "proxy/observe/access_log.h"
#include "proxy/request_handler.h"

namespace regcache::proxy {

class CacheFollower final : public RequestHandler {
public:
  CacheFollower(ClientSide &client, const http::RequestHead &request, oci::Digest digest,
                std::shared_ptr<cache::FillProgress> progress, std::string upstreamName);
  // A joiner that upstream must accept first: `registry` is where the fill streams from (the
  // client's own target), `originTarget` the client's path, `registryKey` its index key.
  CacheFollower(ClientSide &client, const http::RequestHead &request, oci::Digest digest,
                std::shared_ptr<cache::FillProgress> progress, std::string upstreamName,
                JoinToConfirm confirm, net::Endpoint registry, std::string originTarget,
                std::string registryKey);
  ~CacheFollower() override;
  void start() override;
  void onRequestBody(std::string_view) override {}
  void onRequestEnd() override {}
  void onClientDrained() override { poll(); }

private:
  // Asks the leader to wake this follower (on its own loop) whenever bytes land or the state
  // changes.
  void subscribe();
  void poll();
  bool openSource();
  void sendHead();
  void pump();
  // Bytes read at offset_ into the client's output; false if the response ended.
  bool onRead(const Result<std::span<const char>> &bytes);
  void fail(const std::string &why);
  void onJoinVerdict(JoinVerdict verdict);
  // Gives the request to a plain forward of its own; nothing of the fill was sent.
  void forwardAlone(const std::string &why);

  ClientSide &client_;
  bool keepAlive_;
  oci::Digest digest_;
  std::shared_ptr<cache::FillProgress> progress_;
  std::shared_ptr<CacheFollower *> alive_ = std::make_shared<CacheFollower *>(this);
  std::shared_ptr<std::atomic<bool>> wakePending_ = std::make_shared<std::atomic<bool>>(false);
  std::uint64_t wakerId_ = 0;
  std::unique_ptr<cache::BlobReader> reader_; // its completions never run after it is gone
  bool reading_ = false;
  bool headSent_ = false;
  bool done_ = false;
  std::uint64_t offset_ = 0;
  AccessRecord record_;
  // Until upstream accepted this client: no byte of the fill goes out.
  std::unique_ptr<JoinCheck> check_;
  std::optional<JoinToConfirm> confirm_;
  std::string registryKey_;
  std::optional<std::uint64_t> storageLength_; // a confirmed redirect's: must be the fill's
};

} // namespace regcache::proxy
