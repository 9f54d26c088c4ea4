#include "proxy/cache_handler.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/log.h"
#include "cache/byte_range.h"
#include "cache/index_writer.h"
#include "proxy/worker.h"

namespace regcache::proxy {
namespace {
constexpr std::size_t kChunk = 256 * 1024;
}

CacheHandler::CacheHandler(ClientSide &client, http::RequestHead request, cache::BlobRecord blob,
                           UniqueFd fd, std::string upstreamName, std::string xCache,
                           std::string note)
    : client_(client), request_(std::move(request)), blob_(std::move(blob)), fd_(std::move(fd)),
      xCache_(std::move(xCache)) {
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
  std::string serialized = http::serializeResponseHead(head);
  evbuffer_add(client_.clientOutput(), serialized.data(), serialized.size());
  record_.status = head.status;
  if (request_.method == "HEAD") remaining_ = 0;
  // Counted behind, in the writer's next batch: a hit never waits on SQLite.
  if (cache::IndexWriter *writer = client_.worker().shared().indexWriter) {
    writer->recordHit(blob_.digest, std::chrono::system_clock::now());
  }
  pump();
}

void CacheHandler::pump() {
  if (done_) return;
  evbuffer *out = client_.clientOutput();
  while (remaining_ > 0 && !client_.clientOutputFull()) {
    std::size_t want = remaining_ < kChunk ? static_cast<std::size_t>(remaining_) : kChunk;
    // Read straight into the output buffer's free space: no copy, no big stack buffer.
    evbuffer_iovec space{};
    if (evbuffer_reserve_space(out, static_cast<ev_ssize_t>(want), &space, 1) < 1) break;
    ssize_t n = ::pread(fd_.get(), space.iov_base, want, static_cast<off_t>(offset_));
    if (n > 0) {
      space.iov_len = static_cast<std::size_t>(n);
      evbuffer_commit_space(out, &space, 1);
    }
    if (n <= 0) {
      // The file shrank or vanished under us: never pass off a short body as complete.
      done_ = true;
      record_.note = std::string("cache read failed: ") + (n < 0 ? std::strerror(errno) : "EOF");
      completeRequest(client_.worker().shared().metrics, record_);
      client_.abortClient(record_.note);
      return;
    }
    offset_ += static_cast<std::uint64_t>(n);
    remaining_ -= static_cast<std::uint64_t>(n);
    record_.bytesSent += static_cast<std::uint64_t>(n);
  }
  if (remaining_ == 0) {
    done_ = true;
    completeRequest(client_.worker().shared().metrics, record_);
    client_.onResponseComplete(true);
  }
}

} // namespace regcache::proxy
