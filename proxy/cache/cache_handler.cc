#include "proxy/cache/cache_handler.h"

#include "base/log.h"
#include "cache/byte_range.h"
#include "cache/index_writer.h"
#include "proxy/handler_services.h"

namespace regcache::proxy {
namespace {
// Bytes asked of the store per read. The reader reuses one buffer, which goes to the socket at
// once while the client keeps up and is copied into the output when it has not (an evbuffer chain
// of this size is recycled by malloc instead of mapped and unmapped per chunk).
constexpr std::size_t kChunk = 64 * 1024;

} // namespace

CacheHandler::CacheHandler(ClientSide &client, http::RequestHead request, cache::BlobRecord blob,
                           std::unique_ptr<cache::BlobReader> reader, std::string upstreamName,
                           std::string xCache, std::string note)
    : client_(client), request_(std::move(request)), blob_(std::move(blob)),
      reader_(std::move(reader)), xCache_(std::move(xCache)) {
  record_ = startAccessRecord(client_, request_.method, std::move(upstreamName), request_.target);
  record_.note = std::move(note);
  record_.cache = xCache_;
  record_.fromCache = true;
}

void CacheHandler::start() {
  http::ResponseHead head;
  head.headers.add("Content-Type",
                   blob_.mediaType.empty() ? "application/octet-stream" : blob_.mediaType);
  head.headers.add("Docker-Content-Digest", blob_.digest);
  head.headers.add("ETag", "\"" + blob_.digest + "\"");
  head.headers.add("Accept-Ranges", "bytes");
  head.headers.add("X-Cache", xCache_);
  head.headers.add("Via", "1.1 regcache");
  auto range = cache::resolveRange(request_.headers.get("Range"), blob_.size);
  switch (range.kind) {
  case cache::ByteRange::Kind::kWhole:
    head.status = 200;
    offset_ = 0;
    remaining_ = blob_.size;
    break;
  case cache::ByteRange::Kind::kPartial:
    head.status = 206;
    offset_ = range.first;
    remaining_ = range.length();
    head.headers.add("Content-Range", "bytes " + std::to_string(range.first) + "-" +
                                          std::to_string(range.last) + "/" +
                                          std::to_string(blob_.size));
    break;
  case cache::ByteRange::Kind::kUnsatisfiable:
    head.status = 416;
    remaining_ = 0;
    head.headers.add("Content-Range", "bytes */" + std::to_string(blob_.size));
    break;
  }
  head.reason = std::string(http::reasonPhrase(head.status));
  head.headers.add("Content-Length", std::to_string(remaining_));
  if (!request_.keepAlive) head.headers.add("Connection", "close");
  head_ = http::serializeResponseHead(head); // sent with the first body bytes (onRead)
  record_.status = head.status;
  if (request_.method == "HEAD") remaining_ = 0;
  // Counted behind, in the writer's next batch: a hit never waits on SQLite.
  if (cache::IndexWriter *writer = client_.services().indexWriter()) {
    writer->recordHit(blob_.digest, std::chrono::system_clock::now());
  }
  pump();
}

void CacheHandler::pump() {
  if (done_ || reading_) return;
  while (remaining_ > 0 && !client_.clientOutputFull()) {
    std::size_t want = remaining_ < kChunk ? static_cast<std::size_t>(remaining_) : kChunk;
    auto now = reader_->tryReadNow(offset_, want);
    if (!now) {
      // Not in the page cache: the store's threads read it, and the loop goes on meanwhile.
      reading_ = true;
      reader_->read(offset_, want, [this](Result<std::span<const char>> bytes) {
        reading_ = false;
        if (onRead(bytes)) pump();
      });
      return;
    }
    if (!onRead(*now)) return;
  }
  if (remaining_ == 0) {
    countOnce(); // a HEAD, a 416 or an empty body: nothing went out yet
    if (!head_.empty()) client_.sendToClient(head_, {}); // no body
    head_.clear();
    done_ = true;
    client_.onResponseComplete(true);
  }
}

void CacheHandler::countOnce() {
  if (counted_) return;
  counted_ = true;
  completeRequest(client_.services().metrics(), record_);
}

bool CacheHandler::onRead(const Result<std::span<const char>> &bytes) {
  if (done_) return false;
  if (!bytes.ok()) {
    failRead("cache read failed: " + bytes.failure().detail);
    return false;
  }
  if (bytes->empty()) {
    // The blob is shorter than its row says: never pass off a short body as complete.
    failRead("cache read failed: EOF");
    return false;
  }
  std::size_t n = std::min<std::uint64_t>(bytes->size(), remaining_);
  offset_ += n;
  remaining_ -= n;
  record_.bytesSent += n;
  // Counted before the last bytes go: the eager write below can reach the client, and its next
  // request another worker's /metrics or /status.json, before this call returns.
  if (remaining_ == 0) countOnce();
  // Written from the reader's buffer at once while the client keeps up (the head goes with the
  // first bytes, as one TLS record); copied into the output only once it has not.
  client_.sendToClient(head_, bytes->first(n));
  head_.clear();
  return true;
}

void CacheHandler::failRead(const std::string &why) {
  done_ = true;
  record_.note = why;
  countOnce();
  client_.abortClient(record_.note);
}

} // namespace regcache::proxy
