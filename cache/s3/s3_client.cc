#include "cache/s3/s3_client.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <stdexcept>

#include "base/log.h"
#include "proxy/http/parser.h"

namespace regcache::cache::s3 {
namespace {

constexpr std::size_t kErrorBodyLimit = 64 * 1024;
constexpr std::size_t kChunk = 256 * 1024;
constexpr std::string_view kStoppedByReader = "the reader stopped";

struct Answer : proxy::http::ResponseSink {
  S3Response response;
  bool keepAlive = true;
  bool done = false;
  bool tooLarge = false;
  bool stopped = false;
  std::size_t maxBody = 0;
  const std::function<bool(std::string_view)> *onBody = nullptr;
  std::uint64_t received = 0;

  void onResponseHead(proxy::http::ResponseHead &&head) override {
    if (head.status < 200) return; // 1xx: the real head follows (the parser bounds how many)
    response.status = head.status;
    response.headers = std::move(head.headers);
    keepAlive = head.keepAlive;
  }
  void onResponseBody(std::string_view data) override {
    received += data.size();
    if (stopped || tooLarge) return;
    bool success = response.status >= 200 && response.status < 300;
    if (onBody != nullptr && success) {
      if (!(*onBody)(data)) stopped = true;
      return;
    }
    std::size_t limit = onBody != nullptr ? kErrorBodyLimit : maxBody;
    if (response.body.size() + data.size() > limit) {
      tooLarge = true;
      return;
    }
    response.body.append(data);
  }
  void onResponseEnd() override { done = true; }
};

// Sends `length` bytes of `source` from `offset`, in chunks; false on a read or send failure
// (a source that holds fewer bytes than asked is one).
bool sendStored(blocking::Channel &channel, const StoredBytes &source, std::uint64_t offset,
                std::uint64_t length, std::atomic<std::uint64_t> &sent) {
  std::string buffer(std::min<std::uint64_t>(length, kChunk), '\0');
  while (length > 0) {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(length, buffer.size()));
    auto n = source.readAt(offset, std::span<char>(buffer.data(), want));
    if (!n.ok() || *n == 0) return false;
    if (!channel.sendAll(std::string_view(buffer.data(), *n))) return false;
    sent += *n;
    offset += *n;
    length -= *n;
  }
  return true;
}

} // namespace

S3Client::S3Client(const S3StoreOptions &options, S3Stats &stats)
    : options_(options), stats_(stats) {
  auto url = proxy::http::parseAbsoluteUrl(options.endpoint);
  if (!url.ok() || (url->scheme != "http" && url->scheme != "https")) {
    throw std::invalid_argument("the S3 endpoint must be http(s)://HOST[:PORT]: " +
                                options.endpoint);
  }
  tls_ = url->scheme == "https";
  if (!tls_ && !options.allowPlainHttp) {
    throw std::invalid_argument("the S3 endpoint " + options.endpoint +
                                " is plain http, which was not allowed");
  }
  endpoint_ = url->authority;
  if (!options.pathStyle) endpoint_.host = options.bucket + "." + endpoint_.host;
  host_ = proxy::http::formatAuthority(endpoint_, tls_ ? 443 : 80);
}

S3Client::~S3Client() = default;

std::string S3Client::describe(const S3Request &request) const {
  return request.method + " " + options_.bucket + "/" + request.key;
}

std::string S3Client::signedHead(const S3Request &request) const {
  SignableRequest signable;
  signable.method = request.method;
  signable.path =
      options_.pathStyle ? "/" + options_.bucket + (request.key.empty() ? "" : "/") : "/";
  signable.path += request.key;
  signable.query = request.query;
  signable.headers.emplace_back("Host", host_);
  for (const auto &field : request.headers)
    signable.headers.push_back(field);
  signable.payloadHash = request.payloadHash;
  signS3(signable, options_.credentials, options_.region, std::chrono::system_clock::now());
  std::string target = uriEncode(signable.path, true);
  std::string query;
  Fields encoded;
  for (const auto &[name, value] : request.query)
    encoded.emplace_back(uriEncode(name, false), uriEncode(value, false));
  std::sort(encoded.begin(), encoded.end());
  for (const auto &[name, value] : encoded)
    query += (query.empty() ? "?" : "&") + name + "=" + value;
  std::string head = request.method + " " + target + query + " HTTP/1.1\r\n";
  for (const auto &[name, value] : signable.headers)
    head += name + ": " + value + "\r\n";
  std::uint64_t length = request.bodySource != nullptr ? request.bodyLength : request.body.size();
  if (length > 0 || request.method == "PUT" || request.method == "POST") {
    head += "Content-Length: " + std::to_string(length) + "\r\n";
  }
  head += "User-Agent: regcache\r\n\r\n";
  return head;
}

Result<blocking::Channel> S3Client::connect() {
  std::string what = (tls_ ? "https://" : "http://") + host_;
  auto channel =
      blocking::connectChannel(endpoint_, what, options_.connectTimeout, options_.ioTimeout);
  if (!channel.ok()) return channel.failure();
  if (tls_) {
    if (auto started = channel->startTls(endpoint_.host, options_.caFiles, what); !started) {
      return started.failure();
    }
  }
  return channel;
}

Result<S3Response> S3Client::attempt(blocking::Channel &channel, const std::string &head,
                                     const S3Request &request, std::size_t maxBody,
                                     const std::function<bool(std::string_view)> *onBody,
                                     bool &reusable, bool &sentNothing) {
  reusable = false;
  sentNothing = true;
  if (!channel.sendAll(head)) return fail(Error::kIo, "cannot send the request");
  bool sent = request.bodySource != nullptr
                  ? sendStored(channel, *request.bodySource, request.bodyOffset, request.bodyLength,
                               stats_.bytesUp)
                  : (request.body.empty() || channel.sendAll(request.body));
  if (request.bodySource == nullptr) stats_.bytesUp += request.body.size();
  if (!sent) return fail(Error::kIo, "cannot send the request body");
  Answer answer;
  answer.maxBody = maxBody;
  answer.onBody = onBody;
  proxy::http::ResponseParser parser(proxy::http::Limits{}, answer);
  parser.expectResponseTo(request.method);
  // A head must come within the timeout as a whole, not one trickled byte per timeout.
  auto headDeadline = std::chrono::steady_clock::now() + options_.ioTimeout;
  std::string buffer(64 * 1024, '\0');
  while (!answer.done) {
    ssize_t n = channel.receive(buffer.data(), buffer.size());
    if (n < 0) return fail(Error::kTimeout, "no answer within the timeout (or a read error)");
    if (n > 0) sentNothing = false;
    if (n == 0) {
      if (!parser.finishOnEof()) return fail(Error::kUpstream, "the answer was cut short");
      break;
    }
    stats_.bytesDown += static_cast<std::uint64_t>(n);
    auto fed = parser.feed(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    if (fed.status == proxy::http::ParseStatus::kError) {
      return fail(Error::kUpstream,
                  "malformed answer: " + std::string(proxy::http::describe(parser.error())));
    }
    if (answer.tooLarge) return fail(Error::kTooLarge, "the answer's body is too large");
    if (answer.stopped) return fail(Error::kIo, std::string(kStoppedByReader));
    if (answer.response.status == 0 && std::chrono::steady_clock::now() > headDeadline) {
      return fail(Error::kTimeout, "the answer's head did not come within the timeout");
    }
    if (fed.status == proxy::http::ParseStatus::kPaused) {
      reusable = answer.keepAlive && fed.consumed == static_cast<std::size_t>(n);
    }
  }
  return std::move(answer.response);
}

Result<S3Response> S3Client::exchange(const S3Request &request, std::size_t maxBody,
                                      const std::function<bool(std::string_view)> *onBody) {
  ++stats_.requests;
  std::string head = signedHead(request);
  Result<S3Response> result = fail(Error::kInternal, "not sent");
  // A kept-alive connection may have been closed by the endpoint meanwhile: a failure before
  // any byte of an answer on a reused one is tried once more on a new connection.
  for (int tries = 0; tries < 2; ++tries) {
    std::optional<blocking::Channel> channel;
    bool reused = false;
    {
      std::lock_guard lock(idleMutex_);
      while (!idle_.empty() && !channel) {
        blocking::Channel candidate = std::move(idle_.back());
        idle_.pop_back();
        if (candidate.idle()) channel.emplace(std::move(candidate));
      }
    }
    if (channel) {
      reused = true;
    } else {
      auto connected = connect();
      if (!connected.ok()) {
        result = connected.failure();
        break;
      }
      channel.emplace(std::move(connected.value()));
    }
    bool reusable = false, sentNothing = true;
    result = attempt(*channel, head, request, maxBody, onBody, reusable, sentNothing);
    if (result.ok() && reusable) {
      std::lock_guard lock(idleMutex_);
      if (idle_.size() < options_.maxIdleConnections) idle_.push_back(std::move(*channel));
    }
    if (result.ok() || !reused || !sentNothing) break;
  }
  if (!result.ok() && result.failure().detail == kStoppedByReader) {
    // The caller's own choice (a reader gone, a range overrun it reports itself): not an error
    // of the store's, and no warning.
    return fail(result.failure().code, describe(request) + ": " + result.failure().detail);
  }
  if (!result.ok()) {
    ++stats_.errors;
    log::cache().warn("s3: {} failed: {}", describe(request), result.failure().detail);
    return fail(result.failure().code, describe(request) + ": " + result.failure().detail);
  }
  if (result->status >= 500) {
    ++stats_.errors;
    log::cache().warn("s3: {} answered {}", describe(request), result->status);
  }
  return result;
}

Result<S3Response> S3Client::send(const S3Request &request, std::size_t maxBody) {
  return exchange(request, maxBody, nullptr);
}

Result<S3Response> S3Client::stream(const S3Request &request,
                                    const std::function<bool(std::string_view)> &onBody) {
  return exchange(request, kErrorBodyLimit, &onBody);
}

} // namespace regcache::cache::s3
