// The tiered store as a host runs it (cache/tiered_blob_store.h): a real FileBlobStore in front
// of the S3 store on a real RGW. A fill's upload is sent from the local tier's file (a BlobCopy:
// no spool of its own, no second SHA-256), completed only after the local commit verified the
// bytes, and aborted when the local disk cannot take them (a real write failure: the file size
// limit, RLIMIT_FSIZE, makes the local tier's pwrite fail with EFBIG midway).
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "cache/blob_store_sync.h"
#include "cache/file_blob_store.h"
#include "cache/s3/s3_blob_store.h"
#include "cache/s3/s3_xml.h"
#include "cache/tiered_blob_store.h"
#include "rgw_env.h"
#include "temp_dir.h"

using namespace regcache;
using namespace regcache::cache;
using namespace regcache::cache::s3;
using regcache::test::TempDir;

namespace {

using test::digestOf;
using test::patterned;

bool eventually(const std::function<bool()> &condition) {
  for (int i = 0; i < 600; ++i) { // 30 s at most
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

// Descriptors this process has open on files under `dir` (an O_TMPFILE spool file shows as
// "DIR/#INODE (deleted)").
int openFilesUnder(const std::filesystem::path &dir) {
  int count = 0;
  std::string prefix = std::filesystem::canonical(dir).string() + "/";
  for (const auto &entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(entry.path(), ec);
    if (!ec && target.string().rfind(prefix, 0) == 0) ++count;
  }
  return count;
}

// The multipart uploads in flight under the store's blob prefix.
std::size_t uploadsIn(S3BlobStore &store) {
  S3Request request;
  request.method = "GET";
  request.query = {{"uploads", ""}, {"prefix", store.blobsPrefix()}};
  request.payloadHash = std::string(kEmptyPayloadHash);
  auto response = store.client().send(request);
  REQUIRE(response.ok());
  REQUIRE(response->status == 200);
  auto page = parseListMultipartUploads(response->body);
  REQUIRE(page.ok());
  return page->uploads.size();
}

// A host: its disk in front of the bucket, parts of the smallest size S3 takes.
struct Host {
  TempDir dir;   // the local tier's data dir
  TempDir spool; // the S3 store's own spool directory, apart
  S3StoreOptions options = [this] {
    auto made = test::rgwStoreOptions(spool);
    made.partSize = kMinPartSize;
    return made;
  }();
  std::shared_ptr<FileBlobStore> disk = std::make_shared<FileBlobStore>(dir.path() / "data");
  std::shared_ptr<S3BlobStore> bucket = makeBucket(options);
  TieredBlobStore tiered{disk, bucket};

  static std::shared_ptr<S3BlobStore> makeBucket(const S3StoreOptions &options) {
    auto store = std::make_shared<S3BlobStore>(options);
    REQUIRE(store->createBucket().ok());
    return store;
  }
};

Result<void> appendInSteps(BlobWrite &write, const std::string &content, std::size_t from,
                           std::size_t to) {
  for (std::size_t at = from; at < to; at += 256 * 1024) {
    auto stored = appendNow(write, content.substr(at, std::min<std::size_t>(256 * 1024, to - at)));
    if (!stored.ok()) return stored;
  }
  return {};
}

// Caps the size of files this process writes (the local tier's temp file meets it as a full
// disk meets a write) for as long as it lives; SIGXFSZ ignored, so the write fails with EFBIG.
class FileSizeLimit {
public:
  explicit FileSizeLimit(rlim_t bytes) {
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved_) == 0);
    previous_ = ::signal(SIGXFSZ, SIG_IGN);
    rlimit limit{bytes, saved_.rlim_max};
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &limit) == 0);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    ::signal(SIGXFSZ, previous_);
  }

private:
  rlimit saved_{};
  void (*previous_)(int) = nullptr;
};

} // namespace

TEST_CASE("tiered on RGW: a fill's upload is read from the local tier's file, with no spool",
          "[s3][rgw][tiered]") {
  Host host;
  std::string content = patterned(2 * kMinPartSize + 777777, 3); // two full parts and a tail
  Digest digest = digestOf(content);
  auto write = host.tiered.begin(digest, InlineCompletions::instance());
  REQUIRE(write.ok());
  REQUIRE(appendInSteps(**write, content, 0, content.size()).ok());
  // The bucket's bytes come from the local tier's temp file: nothing is spooled a second time.
  CHECK(openFilesUnder(host.options.spoolDir) == 0);
  REQUIRE(commitNow(**write, content.size()).ok());
  write->reset();
  REQUIRE(eventually([&] { return host.tiered.counters().uploadsCompleted.load() == 1; }));
  CHECK(host.bucket->stats().uploadsCompleted.load() == 1);
  CHECK(host.bucket->stats().bytesUp.load() >= content.size());
  CHECK(host.tiered.counters().bytesWritten.load() == content.size());
  // One multipart object, the exact bytes: read back from the bucket alone.
  auto info = statNow(*host.bucket, digest);
  REQUIRE(info.ok());
  CHECK(info->size == content.size());
  auto back = readAllNow(*host.bucket, digest, content.size());
  REQUIRE(back.ok());
  CHECK((*back == content));
  CHECK(uploadsIn(*host.bucket) == 0);
}

TEST_CASE("tiered on RGW: a blob smaller than a part goes up as one PUT from the local file",
          "[s3][rgw][tiered]") {
  Host host;
  std::string content = patterned(300000, 4);
  Digest digest = digestOf(content);
  auto write = host.tiered.begin(digest, InlineCompletions::instance());
  REQUIRE(write.ok());
  REQUIRE(appendInSteps(**write, content, 0, content.size()).ok());
  CHECK(openFilesUnder(host.options.spoolDir) == 0);
  REQUIRE(commitNow(**write, content.size()).ok());
  write->reset();
  REQUIRE(eventually([&] { return host.tiered.counters().uploadsCompleted.load() == 1; }));
  auto back = readAllNow(*host.bucket, digest, content.size());
  REQUIRE(back.ok());
  CHECK((*back == content));
}

TEST_CASE("tiered on RGW: a fill whose bytes do not verify uploads nothing, though its parts "
          "went up",
          "[s3][rgw][tiered]") {
  Host host;
  std::string content = patterned(2 * kMinPartSize + 1000, 5);
  Digest digest = digestOf(content);
  std::string wrong = content;
  wrong[wrong.size() - 10] ^= 0x01; // the last part differs: the first ones go up meanwhile
  auto write = host.tiered.begin(digest, InlineCompletions::instance());
  REQUIRE(write.ok());
  REQUIRE(appendInSteps(**write, wrong, 0, wrong.size()).ok());
  REQUIRE(eventually([&] { return host.bucket->stats().bytesUp.load() >= kMinPartSize; }));
  CHECK(uploadsIn(*host.bucket) == 1); // a multipart upload in flight, with a part
  auto committed = commitNow(**write, wrong.size());
  REQUIRE_FALSE(committed.ok());
  CHECK(committed.failure().code == Error::kUpstream);
  write->reset();
  CHECK(eventually([&] { return uploadsIn(*host.bucket) == 0; }));
  CHECK(statNow(*host.bucket, digest).failure().code == Error::kNotFound);
  CHECK(host.bucket->stats().uploadsCompleted.load() == 0);
}

TEST_CASE("tiered on RGW: the local disk failing midway aborts the upload read from it",
          "[s3][rgw][tiered]") {
  Host host;
  std::string content = patterned(3 * kMinPartSize, 6);
  Digest digest = digestOf(content);
  auto write = host.tiered.begin(digest, InlineCompletions::instance());
  REQUIRE(write.ok());
  // The first part goes up, from the local file.
  REQUIRE(appendInSteps(**write, content, 0, kMinPartSize + 512 * 1024).ok());
  REQUIRE(eventually([&] { return host.bucket->stats().bytesUp.load() >= kMinPartSize; }));
  CHECK(uploadsIn(*host.bucket) == 1);
  CHECK(openFilesUnder(host.options.spoolDir) == 0);
  {
    // Then the disk takes no more than 7 MiB: the local write fails part of the way through.
    FileSizeLimit full(7u << 20);
    auto rest = appendInSteps(**write, content, kMinPartSize + 512 * 1024, content.size());
    REQUIRE_FALSE(rest.ok());
    CHECK(rest.failure().code == Error::kIo);
    SECTION("the fill commits what it has") {
      auto committed = commitNow(**write, content.size());
      CHECK_FALSE(committed.ok());
    }
    SECTION("the fill gives the write up") {}
    write->reset();
  }
  CHECK(eventually([&] { return uploadsIn(*host.bucket) == 0; }));
  CHECK(statNow(*host.bucket, digest).failure().code == Error::kNotFound);
  CHECK(host.bucket->stats().uploadsCompleted.load() == 0);
  CHECK(statNow(*host.disk, digest).failure().code == Error::kNotFound);
  // The next fill of it completes, with the whole blob.
  auto again = host.tiered.begin(digest, InlineCompletions::instance());
  REQUIRE(again.ok());
  REQUIRE(appendInSteps(**again, content, 0, content.size()).ok());
  REQUIRE(commitNow(**again, content.size()).ok());
  again->reset();
  REQUIRE(eventually([&] { return host.bucket->stats().uploadsCompleted.load() == 1; }));
  auto back = readAllNow(*host.bucket, digest, content.size());
  REQUIRE(back.ok());
  CHECK((*back == content));
}
