#pragma once
// A blocking HTTP/1.1 client for the S3 store's own threads (never a worker loop): it signs each
// request (SigV4), sends it over a kept-alive connection from a small pool (TLS verified with the
// system roots plus the extra CA files, or plain http only when the options allow it), and reads
// the answer with proxy/http's parser. Bounded: the connect, each read and write, and the wait
// for an answer's head have timeouts; a body kept in memory has a size limit. Thread-safe.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/blocking/channel.h"
#include "base/result.h"
#include "cache/blob_store.h"
#include "cache/s3/s3_store_options.h"
#include "cache/s3/sigv4.h"
#include "proxy/http/headers.h"
#include "proxy/http/target.h"

namespace regcache::cache::s3 {

// What the store did, for /metrics and logs; every field counts up from 0.
struct S3Stats {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> errors{0}; // connect/timeout/TLS failures and 5xx answers
  std::atomic<std::uint64_t> bytesUp{0};
  std::atomic<std::uint64_t> bytesDown{0};
  std::atomic<std::uint64_t> uploadsCompleted{0};
  std::atomic<std::uint64_t> uploadsAborted{0};
  std::atomic<std::uint64_t> markersWritten{0};
};

struct S3Request {
  std::string method;
  std::string key; // the object's key; empty for a request on the bucket itself
  Fields query;    // decoded
  Fields headers;  // besides Host, the signature's and Content-Length (e.g. Range)
  // The body: in memory, or `bodyLength` bytes of `bodySource` (a write's stored bytes: the S3
  // write's spool, or the local tier's file it copies) from `bodyOffset`.
  std::string_view body;
  const StoredBytes *bodySource = nullptr;
  std::uint64_t bodyOffset = 0;
  std::uint64_t bodyLength = 0;
  std::string payloadHash = std::string(kUnsignedPayload); // or the body's sha256 hex
};

struct S3Response {
  int status = 0;
  proxy::http::Headers headers;
  std::string body; // kept only by send(); at most its `maxBody`
};

class S3Client {
public:
  // Checks the endpoint (http(s)://HOST[:PORT]; http only with allowPlainHttp). Throws
  // std::invalid_argument (start-up only).
  S3Client(const S3StoreOptions &options, S3Stats &stats);
  ~S3Client();

  // Sends `request` and keeps up to `maxBody` bytes of the answer's body (kTooLarge beyond,
  // the connection is dropped). Fails on connect, TLS, timeouts and malformed answers, never on
  // a status: the caller reads it.
  Result<S3Response> send(const S3Request &request, std::size_t maxBody = 1u << 20);
  // The same, handing body bytes of a 2xx answer to `onBody` as they come (bodies of other
  // answers are kept, up to 64 KiB, for their error code). `onBody` returning false stops the
  // read: the connection is dropped and the result is kIo.
  Result<S3Response> stream(const S3Request &request,
                            const std::function<bool(std::string_view)> &onBody);

  // "PUT bucket/key" for log lines.
  std::string describe(const S3Request &request) const;
  // The request's head as it would be sent now (addressing, encoding, signature): for tests.
  std::string requestHead(const S3Request &request) const { return signedHead(request); }
  S3Stats &stats() { return stats_; }

private:
  Result<S3Response> exchange(const S3Request &request, std::size_t maxBody,
                              const std::function<bool(std::string_view)> *onBody);
  Result<S3Response> attempt(blocking::Channel &channel, const std::string &head,
                             const S3Request &request, std::size_t maxBody,
                             const std::function<bool(std::string_view)> *onBody, bool &reusable,
                             bool &sentNothing);
  Result<blocking::Channel> connect();
  std::string signedHead(const S3Request &request) const;

  S3StoreOptions options_;
  S3Stats &stats_;
  bool tls_ = false;
  proxy::http::HostPort endpoint_; // where connections go
  std::string host_;               // the Host header (bucket.host for virtual-host style)
  std::mutex idleMutex_;
  std::vector<blocking::Channel> idle_;
};

} // namespace regcache::cache::s3
