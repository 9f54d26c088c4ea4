#pragma once
// Serves a client whose blob another request is already fetching: it waits for the leader's
// response head, then streams the leader's write as it grows (a late joiner starts from the
// first byte), and finishes when the fill is committed. If the fill fails before anything was
// sent, the request is forwarded on its own; after, the client connection is dropped, so a
// client never sees a complete response with wrong bytes.
#include <memory>

#include "base/event_handles.h"
#include "cache/blob_store.h"
#include "cache/digest.h"
#include "cache/fill_registry.h"
#include "proxy/access_log.h"
#include "proxy/http/message.h"
#include "proxy/request_handler.h"

namespace regcache::proxy {

class CacheFollower final : public RequestHandler {
public:
  CacheFollower(ClientSide &client, const http::RequestHead &request, cache::Digest digest,
                std::shared_ptr<cache::FillProgress> progress, std::string upstreamName);
  ~CacheFollower() override;
  void start() override;
  void onRequestBody(std::string_view) override {}
  void onRequestEnd() override {}
  void onClientDrained() override { poll(); }

private:
  static void onTimer(evutil_socket_t, short, void *arg) noexcept;
  void poll();
  bool openSource();
  void sendHead();
  void pump();
  // Bytes read at offset_ into the client's output; false if the response ended.
  bool onRead(const Result<std::span<const char>> &bytes);
  // Waits for the leader's next bytes (polling; the fill rework wakes readers instead).
  void waitForMore();
  void fail(const std::string &why);

  ClientSide &client_;
  bool keepAlive_;
  cache::Digest digest_;
  std::shared_ptr<cache::FillProgress> progress_;
  EventPtr timer_;
  std::unique_ptr<cache::BlobReader> reader_; // its completions never run after it is gone
  bool reading_ = false;
  bool headSent_ = false;
  bool done_ = false;
  std::uint64_t offset_ = 0;
  AccessRecord record_;
};

} // namespace regcache::proxy
