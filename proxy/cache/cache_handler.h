#pragma once
// Answers a GET or HEAD of a blob or manifest by digest from the local store, without contacting
// upstream: 200, 206 for a single range, 416 past the end, HEAD from the index alone. The body is
// read from the store in chunks only while the client keeps up: from the page cache on the loop
// when the bytes are there (tryReadNow), else on the store's I/O threads.
#include <cstdint>

#include <memory>

#include "base/oci/digest.h"
#include "cache/blob_store.h"
#include "cache/index.h"
#include "proxy/http/message.h"
#include "proxy/observe/access_log.h"
#include "proxy/request_handler.h"

namespace regcache::proxy {

class CacheHandler final : public RequestHandler {
public:
  // `blob` is the index row; `reader` reads its bytes, completing on this worker's loop.
  // xCache is the X-Cache value (HIT, STALE); note goes to the access log.
  CacheHandler(ClientSide &client, http::RequestHead request, cache::BlobRecord blob,
               std::unique_ptr<cache::BlobReader> reader, std::string upstreamName,
               std::string xCache = "HIT", std::string note = "cache HIT");
  void start() override;
  void onRequestBody(std::string_view) override {}
  void onRequestEnd() override {}
  void onClientDrained() override { pump(); }

private:
  void pump();
  // Bytes read at offset_ (or a failure): into the client's output; false if the response ended.
  bool onRead(const Result<std::span<const char>> &bytes);
  void failRead(const std::string &why);
  // The access record to the log and the counters, before the response's last byte is written.
  void countOnce();

  ClientSide &client_;
  http::RequestHead request_;
  cache::BlobRecord blob_;
  std::unique_ptr<cache::BlobReader> reader_; // its completions never run after it is gone
  bool reading_ = false;                      // a read on the store's threads is in flight
  std::uint64_t offset_ = 0;
  std::uint64_t remaining_ = 0;
  bool done_ = false;
  bool counted_ = false;
  AccessRecord record_;
  std::string xCache_;
  // The serialized head, until it goes out with the first body bytes (one TLS record for both).
  std::string head_;
};

} // namespace regcache::proxy
