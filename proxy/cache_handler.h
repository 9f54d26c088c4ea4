#pragma once
// Answers a GET or HEAD of a blob or manifest by digest from the local store, without contacting
// upstream: 200, 206 for a single range, 416 past the end, HEAD from the index alone. The body is
// read from disk in chunks only while the client keeps up.
#include <cstdint>

#include "base/unique_fd.h"
#include "cache/digest.h"
#include "cache/index.h"
#include "proxy/access_log.h"
#include "proxy/http/message.h"
#include "proxy/request_handler.h"

namespace regcache::proxy {

class CacheHandler final : public RequestHandler {
public:
  // `blob` is the index row; `fd` the open file. The handler owns the fd.
  // xCache is the X-Cache value (HIT, STALE); note goes to the access log.
  CacheHandler(ClientSide &client, http::RequestHead request, cache::BlobRecord blob, UniqueFd fd,
               std::string upstreamName, std::string xCache = "HIT",
               std::string note = "cache HIT");
  void start() override;
  void onRequestBody(std::string_view) override {}
  void onRequestEnd() override {}
  void onClientDrained() override { pump(); }

private:
  void pump();

  ClientSide &client_;
  http::RequestHead request_;
  cache::BlobRecord blob_;
  UniqueFd fd_;
  std::uint64_t offset_ = 0;
  std::uint64_t remaining_ = 0;
  bool done_ = false;
  AccessRecord record_;
  std::string xCache_;
};

} // namespace regcache::proxy
