// What the S3 store does beyond the BlobStore contract, against a real RGW: multipart uploads,
// what aborts and mismatches leave (nothing), leftovers by age, markers, and endpoints that fail
// or lie (loopback sockets of the test's own).
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "base/sha256.h"
#include "base/unique_fd.h"
#include "cache/blob_store_sync.h"
#include "cache/s3/s3_blob_store.h"
#include "cache/s3/s3_xml.h"
#include "manual_completions.h"
#include "rgw_env.h"
#include "temp_dir.h"
#include "tls_front.h"

using namespace regcache;
using namespace regcache::cache;
using namespace regcache::cache::s3;
using regcache::test::TempDir;

namespace {

using test::digestOf;
using test::patterned;

// The multipart uploads in flight under the store's blob prefix.
std::vector<ListedUpload> uploadsOf(S3BlobStore &store) {
  S3Request request;
  request.method = "GET";
  request.query = {{"uploads", ""}, {"prefix", store.blobsPrefix()}};
  request.payloadHash = std::string(kEmptyPayloadHash);
  auto response = store.client().send(request);
  REQUIRE(response.ok());
  REQUIRE(response->status == 200);
  auto page = parseListMultipartUploads(response->body);
  REQUIRE(page.ok());
  return page->uploads;
}

std::string initiateUpload(S3BlobStore &store, const std::string &key) {
  S3Request request;
  request.method = "POST";
  request.key = key;
  request.query = {{"uploads", ""}};
  request.payloadHash = std::string(kEmptyPayloadHash);
  auto response = store.client().send(request);
  REQUIRE(response.ok());
  REQUIRE(response->status == 200);
  return parseUploadId(response->body).value();
}

Result<void> writeInSteps(BlobWrite &write, const std::string &content, std::size_t step) {
  for (std::size_t at = 0; at < content.size(); at += step) {
    auto stored = appendNow(write, content.substr(at, step));
    if (!stored.ok()) return stored;
  }
  return {};
}

std::unique_ptr<S3BlobStore> rgwStore(const TempDir &spool) {
  auto store = std::make_unique<S3BlobStore>(test::rgwStoreOptions(spool));
  REQUIRE(store->createBucket().ok());
  return store;
}

// A loopback endpoint of the test's own that misbehaves in one way, for as long as it lives.
class BadEndpoint {
public:
  enum class Mode { kSilent, kServerError, kLongerThanAsked };
  explicit BadEndpoint(Mode mode) : mode_(mode) {
    listener_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener_.get(), reinterpret_cast<sockaddr *>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener_.get(), 16) == 0);
    socklen_t length = sizeof address;
    ::getsockname(listener_.get(), reinterpret_cast<sockaddr *>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~BadEndpoint() {
    stop_ = true;
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

private:
  void serve() {
    std::vector<UniqueFd> held; // silent connections stay open until the end
    for (int turns = 0; !stop_ && turns < 3000; ++turns) { // bounded: 3000 x 10 ms
      pollfd watch{listener_.get(), POLLIN, 0};
      if (::poll(&watch, 1, 10) != 1) continue;
      UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!client) continue;
      std::string request;
      char buffer[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        pollfd readable{client.get(), POLLIN, 0};
        if (::poll(&readable, 1, 2000) != 1) break;
        ssize_t n = ::recv(client.get(), buffer, sizeof buffer, 0);
        if (n <= 0) break;
        request.append(buffer, static_cast<std::size_t>(n));
      }
      std::string answer;
      if (mode_ == Mode::kServerError) {
        std::string body = "<Error><Code>SlowDown</Code><Message>busy</Message></Error>";
        answer =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: " + std::to_string(body.size()) +
            "\r\n\r\n" + body;
      } else if (mode_ == Mode::kLongerThanAsked) {
        answer = request.rfind("HEAD", 0) == 0
                     ? "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
                     : "HTTP/1.1 206 Partial Content\r\nContent-Length: 200\r\n\r\n" +
                           std::string(200, 'x');
      }
      if (!answer.empty()) ::send(client.get(), answer.data(), answer.size(), MSG_NOSIGNAL);
      held.push_back(std::move(client));
    }
  }

  Mode mode_;
  UniqueFd listener_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

S3StoreOptions optionsFor(const TempDir &spool, const std::string &endpoint) {
  S3StoreOptions options = test::rgwStoreOptions(spool);
  options.endpoint = endpoint;
  options.connectTimeout = std::chrono::milliseconds(500);
  options.ioTimeout = std::chrono::milliseconds(800);
  return options;
}

} // namespace

TEST_CASE("s3 store: a blob of several parts goes up as one multipart upload", "[s3][rgw]") {
  TempDir spool;
  auto store = rgwStore(spool);
  std::string content = patterned(3 * kMinPartSize + 12345, 1); // 3 full parts and a tail
  Digest digest = digestOf(content);
  auto write = store->begin(digest, InlineCompletions::instance());
  REQUIRE(write.ok());
  REQUIRE(writeInSteps(**write, content, 1 << 20).ok());
  // Parts go up while the fill goes on; nothing is visible before the commit.
  CHECK(statNow(*store, digest).failure().code == Error::kNotFound);
  REQUIRE(commitNow(**write, content.size()).ok());
  CHECK(store->stats().uploadsCompleted == 1);
  CHECK(store->stats().bytesUp >= content.size());
  CHECK(uploadsOf(*store).empty());
  auto info = statNow(*store, digest);
  REQUIRE(info.ok());
  CHECK(info->size == content.size());
  // A ranged read in the middle, crossing a part boundary, from a fresh store (no known size).
  TempDir otherSpool;
  S3StoreOptions sameBucket = store->options();
  sameBucket.spoolDir = otherSpool.path();
  S3BlobStore other(sameBucket);
  auto reader = other.openReader(digest, InlineCompletions::instance());
  REQUIRE(reader.ok());
  std::uint64_t middle = 2 * kMinPartSize - 500;
  CHECK(readNow(**reader, middle, 1000).value() == content.substr(middle, 1000));
  CHECK(readNow(**reader, content.size() - 10, 100).value() == content.substr(content.size() - 10));
  CHECK(readNow(**reader, content.size(), 100).value().empty());
  // The whole blob, streamed window by window.
  std::string back;
  for (int i = 0; i < 1000 && back.size() < content.size(); ++i)
    back += readNow(**reader, back.size(), 1 << 20).value();
  CHECK(sha256Hex(back) == digest.hex);
}

// Reads `size` bytes from 0 in reads of `step`, as a client streaming the blob would.
std::string readInSteps(BlobReader &reader, std::uint64_t size, std::size_t step) {
  std::string got;
  while (got.size() < size) {
    auto bytes = readNow(reader, got.size(), step);
    REQUIRE(bytes.ok());
    REQUIRE_FALSE(bytes->empty());
    got += *bytes;
  }
  return got;
}

TEST_CASE("s3 store: a reader's windows ahead give the exact bytes across window boundaries",
          "[s3][rgw]") {
  TempDir spool;
  S3StoreOptions options = test::rgwStoreOptions(spool);
  options.readAheadBytes = 1000;
  options.readAheadWindows = GENERATE(0u, 1u, 2u);
  S3BlobStore store(options);
  REQUIRE(store.createBucket().ok());
  std::string content = patterned(10 * 1000 + 123, 7 + options.readAheadWindows);
  Digest digest = digestOf(content);
  REQUIRE(putNow(store, digest, content).ok());
  auto reader = store.openReader(digest, InlineCompletions::instance());
  REQUIRE(reader.ok());
  CHECK(readInSteps(**reader, content.size(), 333) == content); // 333 straddles every boundary
  CHECK(readNow(**reader, content.size(), 333).value().empty());
  // Seeks, back and forth, drop what was read ahead and still answer exactly.
  // A read may be short (at most the rest of its window) but never empty before the end, and
  // its bytes are those at its offset.
  for (auto [offset, max] : {std::pair<std::uint64_t, std::size_t>{7777, 500},
                             {10, 50},
                             {1990, 20},
                             {2000, 2000},
                             {2990, 1000},
                             {10122, 5},
                             {0, 20000}}) {
    auto got = readNow(**reader, offset, max);
    REQUIRE(got.ok());
    CHECK_FALSE(got->empty());
    CHECK(got->size() <= max);
    CHECK(*got == content.substr(offset, got->size()));
  }
}

TEST_CASE("s3 store: a reader fetches the next windows while the current one is read",
          "[s3][rgw]") {
  TempDir spool;
  S3StoreOptions options = test::rgwStoreOptions(spool);
  options.readAheadBytes = 1u << 20;
  options.readAheadWindows = 2;
  auto store = std::make_unique<S3BlobStore>(options);
  REQUIRE(store->createBucket().ok());
  std::string content = patterned(8u << 20, 11);
  Digest digest = digestOf(content);
  REQUIRE(putNow(*store, digest, content).ok());
  test::ManualCompletions loop;
  auto reader = store->openReader(digest, loop);
  REQUIRE(reader.ok()); // the size is known from the put: no HEAD
  std::uint64_t before = store->stats().requests;
  bool first = false;
  (*reader)->read(0, 100, [&](Result<std::span<const char>> bytes) {
    REQUIRE(bytes.ok());
    CHECK(std::string(bytes->data(), bytes->size()) == content.substr(0, 100));
    first = true;
  });
  REQUIRE(loop.runUntil([&] { return first; }));
  // Two more GETs go out with no read asking for them (one without read-ahead).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (store->stats().requests < before + 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(store->stats().requests == before + 3);

  SECTION("destroyed with a read waiting on its GET: no completion runs afterwards") {
    bool answered = false;
    // Past the windows asked so far: a seek, whose GET is in flight when the reader goes.
    (*reader)->read(5u << 20, 100, [&](Result<std::span<const char>>) { answered = true; });
    reader->reset();
    // The store's threads finish (or cut short) the GETs; their completions do nothing.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    loop.runUntil([&] { return loop.queued() == 0; }, std::chrono::milliseconds(100));
    CHECK_FALSE(answered);
    store.reset(); // joins the store's threads: every job, and the windows it held, ended
    CHECK_FALSE(answered);
  }
  SECTION("in order to the end, the windows ahead land exactly") {
    std::string got;
    bool ended = false;
    std::function<void()> next = [&] {
      (*reader)->read(got.size(), 64 * 1024, [&](Result<std::span<const char>> bytes) {
        REQUIRE(bytes.ok());
        if (bytes->empty()) return void(ended = true);
        got.append(bytes->data(), bytes->size());
        next();
      });
    };
    next();
    REQUIRE(loop.runUntil([&] { return ended; }, std::chrono::seconds(20)));
    CHECK(got == content);
    // One GET per window: eight of them, and the HEAD-free open asked no more.
    CHECK(store->stats().requests == before + 8);
  }
}

TEST_CASE("s3 store: an abandoned multipart write leaves no object and no upload", "[s3][rgw]") {
  TempDir spool;
  auto store = rgwStore(spool);
  std::string content = patterned(2 * kMinPartSize + 100, 2);
  Digest digest = digestOf(content);
  {
    auto write = store->begin(digest, InlineCompletions::instance());
    REQUIRE(write.ok());
    REQUIRE(writeInSteps(**write, content, 1 << 20).ok()); // two parts on their way up
  }
  S3StoreOptions options = store->options();
  store.reset(); // runs what was queued: the parts, then the abort
  S3BlobStore again(options);
  CHECK(statNow(again, digest).failure().code == Error::kNotFound);
  CHECK(uploadsOf(again).empty());
  CHECK(again.stats().uploadsAborted == 0); // the first store aborted it
}

TEST_CASE("s3 store: a multipart commit of the wrong bytes leaves nothing", "[s3][rgw]") {
  TempDir spool;
  auto store = rgwStore(spool);
  std::string expected = patterned(2 * kMinPartSize + 7, 3);
  std::string actual = expected;
  actual[kMinPartSize + 3] ^= 1; // one bit in the second part
  Digest digest = digestOf(expected);
  auto write = store->begin(digest, InlineCompletions::instance());
  REQUIRE(write.ok());
  REQUIRE(writeInSteps(**write, actual, 1 << 20).ok());
  auto committed = commitNow(**write, actual.size());
  REQUIRE_FALSE(committed.ok());
  CHECK(committed.failure().code == Error::kUpstream);
  write->reset();
  S3StoreOptions options = store->options();
  store.reset();
  S3BlobStore again(options);
  CHECK(statNow(again, digest).failure().code == Error::kNotFound);
  CHECK(uploadsOf(again).empty());
}

TEST_CASE("s3 store: removeLeftovers aborts uploads older than the age, not younger", "[s3][rgw]") {
  TempDir spool;
  S3StoreOptions options = test::rgwStoreOptions(spool);
  options.abandonedUploadAge = std::chrono::seconds(2);
  S3BlobStore store(options);
  REQUIRE(store.createBucket().ok());
  initiateUpload(store, store.blobsPrefix() + test::randomHex(64));
  CHECK(removeLeftoversNow(store).value() == 0); // a host's upload may still be in flight
  std::this_thread::sleep_for(std::chrono::milliseconds(3100));
  initiateUpload(store, store.blobsPrefix() + test::randomHex(64)); // a young one stays
  CHECK(removeLeftoversNow(store).value() == 1);
  CHECK(uploadsOf(store).size() == 1);
  CHECK(store.stats().uploadsAborted == 1);
}

TEST_CASE("s3 store: markUsed writes a digest's marker once per interval", "[s3][rgw]") {
  TempDir spool;
  auto store = rgwStore(spool);
  Digest digest = digestOf("used");
  store->markUsed(digest);
  store->markUsed(digest); // within the interval: no second PUT
  S3StoreOptions options = store->options();
  store.reset();
  S3BlobStore again(options);
  S3Request head;
  head.method = "HEAD";
  head.key = again.markerKey(digest);
  head.payloadHash = std::string(kEmptyPayloadHash);
  auto response = again.client().send(head, 0);
  REQUIRE(response.ok());
  CHECK(response->status == 200);
}

TEST_CASE("s3 store: an endpoint that is down fails every operation within the timeouts",
          "[s3][rgw]") {
  TempDir spool;
  std::string content = "bytes for a bucket that is down";
  Digest digest = digestOf(content);
  auto started = std::chrono::steady_clock::now();
  SECTION("connection refused") {
    // A port that was free a moment ago: nothing listens there.
    std::string url;
    {
      BadEndpoint closed(BadEndpoint::Mode::kServerError);
      url = closed.url();
    }
    S3BlobStore store(optionsFor(spool, url));
    CHECK(statNow(store, digest).failure().code == Error::kConnect);
    auto write = store.begin(digest, InlineCompletions::instance());
    REQUIRE(write.ok());
    REQUIRE(appendNow(**write, content).ok());
    auto reader = (*write)->openReader(InlineCompletions::instance());
    CHECK(commitNow(**write, content.size()).failure().code == Error::kConnect);
    // The bytes stay readable for the fill's clients: a failed upload fails no pull.
    CHECK(readNow(**reader, 0, 100).value() == content);
    CHECK(store.stats().errors >= 2);
  }
  SECTION("an endpoint that never answers") {
    BadEndpoint silent(BadEndpoint::Mode::kSilent);
    S3BlobStore store(optionsFor(spool, silent.url()));
    CHECK(statNow(store, digest).failure().code == Error::kTimeout);
    CHECK(listNow(store).failure().code == Error::kTimeout);
  }
  SECTION("5xx answers") {
    BadEndpoint busy(BadEndpoint::Mode::kServerError);
    S3BlobStore store(optionsFor(spool, busy.url()));
    auto info = statNow(store, digest);
    CHECK(info.failure().code == Error::kIo);
    auto listed = listNow(store);
    REQUIRE_FALSE(listed.ok());
    CHECK(listed.failure().detail.find("SlowDown") != std::string::npos);
    CHECK(store.stats().errors >= 2);
  }
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
}

TEST_CASE("s3 store: a ranged answer longer than asked is refused", "[s3][rgw]") {
  TempDir spool;
  BadEndpoint liar(BadEndpoint::Mode::kLongerThanAsked);
  S3StoreOptions options = optionsFor(spool, liar.url());
  options.readAheadBytes = 100;
  S3BlobStore store(options);
  auto reader = store.openReader(digestOf("x"), InlineCompletions::instance());
  REQUIRE(reader.ok()); // HEAD said 100 bytes
  auto got = readNow(**reader, 0, 100);
  REQUIRE_FALSE(got.ok());
  CHECK(got.failure().code == Error::kUpstream);
}

TEST_CASE("s3 store: an https endpoint is verified against the system roots and extra CAs",
          "[s3][rgw]") {
  TempDir spool;
  const std::string &plain = test::rgwEnv().endpoint; // http://127.0.0.1:PORT
  auto rgwPort = static_cast<std::uint16_t>(std::stoi(plain.substr(plain.rfind(':') + 1)));
  test::TlsFront front(rgwPort); // TLS for 127.0.0.1 with a certificate of its own
  S3StoreOptions options = test::rgwStoreOptions(spool);
  options.endpoint = "https://127.0.0.1:" + std::to_string(front.port());
  options.allowPlainHttp = false;
  std::string content = "over verified TLS";
  SECTION("trusted through the extra CA file") {
    options.caFiles = {front.caFile()};
    S3BlobStore store(options);
    REQUIRE(store.createBucket().ok());
    REQUIRE(putNow(store, digestOf(content), content).ok());
    CHECK(readAllNow(store, digestOf(content), content.size()).value() == content);
  }
  SECTION("refused without it") {
    S3BlobStore store(options);
    auto info = statNow(store, digestOf(content));
    REQUIRE_FALSE(info.ok());
    CHECK(info.failure().code == Error::kTls);
  }
}
