// The real RGW stops answering (its radosgw process paused with SIGSTOP, by the PID the harness
// recorded): every store operation fails within the timeouts, a write's readers still get its
// bytes, and the store works again once RGW does. Runs alone (RUN_SERIAL): other RGW tests
// would stall too. A tiered fill's commit does not wait for the paused bucket.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/types.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "base/sha256.h"
#include "cache/blob_store_sync.h"
#include "cache/file_blob_store.h"
#include "cache/s3/s3_blob_store.h"
#include "cache/tiered_blob_store.h"
#include "rgw_env.h"
#include "temp_dir.h"

using namespace regcache;
using namespace regcache::cache;
using namespace regcache::cache::s3;

namespace {

// radosgw's PID from the harness, checked to still be radosgw on that state directory.
pid_t radosgwPid() {
  const std::string dir = test::rgwEnv().rgwDir;
  REQUIRE(!dir.empty());
  pid_t pid = 0;
  std::ifstream(dir + "/run/rgw.pid") >> pid;
  REQUIRE(pid > 0);
  std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline");
  std::stringstream text;
  text << cmdline.rdbuf();
  REQUIRE(text.str().rfind("radosgw", 0) == 0);
  REQUIRE(text.str().find(dir + "/ceph.conf") != std::string::npos);
  return pid;
}

// SIGSTOP now, SIGCONT however the test ends.
struct Paused {
  pid_t pid;
  explicit Paused(pid_t p) : pid(p) { REQUIRE(::kill(pid, SIGSTOP) == 0); }
  ~Paused() { ::kill(pid, SIGCONT); }
};

using test::digestOf;

} // namespace

TEST_CASE("s3 store: RGW not answering fails operations within the timeouts, then recovers",
          "[s3][rgw]") {
  test::TempDir spool;
  S3StoreOptions options = test::rgwStoreOptions(spool);
  options.connectTimeout = std::chrono::milliseconds(1000);
  options.ioTimeout = std::chrono::milliseconds(1500);
  S3BlobStore store(options);
  REQUIRE(store.createBucket().ok());
  std::string before = "stored while RGW ran", during = "written while RGW is paused";
  REQUIRE(putNow(store, digestOf(before), before).ok());
  auto reader = store.openReader(digestOf(before), InlineCompletions::instance());
  REQUIRE(reader.ok());
  {
    Paused paused(radosgwPid());
    auto started = std::chrono::steady_clock::now();
    auto info = statNow(store, digestOf(before));
    REQUIRE_FALSE(info.ok());
    CHECK(info.failure().code == Error::kTimeout);
    CHECK_FALSE(readNow(**reader, 0, 100).ok());
    auto write = store.begin(digestOf(during), InlineCompletions::instance());
    REQUIRE(write.ok());
    REQUIRE(appendNow(**write, during).ok());
    auto spoolReader = (*write)->openReader(InlineCompletions::instance());
    CHECK_FALSE(commitNow(**write, during.size()).ok());
    CHECK(readNow(**spoolReader, 0, 100).value() == during); // its clients still get the bytes
    auto took = std::chrono::steady_clock::now() - started;
    CHECK(took < std::chrono::seconds(10)); // three requests, each bounded by the timeouts
    CHECK(store.stats().errors >= 3);
  }
  // RGW answers again: new connections, nothing stale from the paused ones.
  bool back = false;
  for (int i = 0; i < 20 && !back; ++i) {
    back = statNow(store, digestOf(before)).ok();
    if (!back) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  CHECK(back);
  CHECK(readNow(**reader, 0, 100).value() == before);
  // The PUT the paused RGW had already received may complete late: an object it makes holds the
  // verified bytes (the commit checked them before sending), never anything else.
  auto late = statNow(store, digestOf(during));
  if (late.ok()) {
    CHECK(late->size == during.size());
    auto lateReader = store.openReader(digestOf(during), InlineCompletions::instance());
    REQUIRE(lateReader.ok());
    CHECK(readNow(**lateReader, 0, 100).value() == during);
  } else {
    CHECK(late.failure().code == Error::kNotFound);
  }
}

TEST_CASE("tiered on RGW: a fill's commit never waits for the bucket's, which ends after",
          "[s3][rgw][tiered]") {
  test::TempDir dir;
  S3StoreOptions options = test::rgwStoreOptions(dir);
  options.partSize = kMinPartSize;
  options.ioTimeout = std::chrono::milliseconds(20000); // RGW is paused, not gone: wait for it
  auto disk = std::make_shared<FileBlobStore>(dir.path() / "data");
  auto bucket = std::make_shared<S3BlobStore>(options);
  REQUIRE(bucket->createBucket().ok());
  TieredBlobStore tiered(disk, bucket);
  std::string content(2 * kMinPartSize + 4096, 'p');
  for (std::size_t i = 0; i < content.size(); ++i)
    content[i] = static_cast<char>('a' + (i * 31 + i / 8191) % 26);
  Digest digest = digestOf(content);
  auto write = tiered.begin(digest, InlineCompletions::instance());
  REQUIRE(write.ok());
  for (std::size_t at = 0; at < content.size(); at += 1u << 20)
    REQUIRE(appendNow(**write, content.substr(at, 1u << 20)).ok());
  {
    // RGW stops answering with parts to go: the fill's commit (its client's last byte) is the
    // local tier's alone, and completes at once.
    Paused paused(radosgwPid());
    auto started = std::chrono::steady_clock::now();
    REQUIRE(commitNow(**write, content.size()).ok());
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(2));
    write->reset(); // the fill ends; its upload goes on without it
    CHECK(statNow(*disk, digest).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    CHECK(tiered.counters().uploadsCompleted.load() == 0);
  }
  bool uploaded = false;
  for (int i = 0; i < 200 && !uploaded; ++i) { // 20 s at most
    uploaded = tiered.counters().uploadsCompleted.load() == 1;
    if (!uploaded) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE(uploaded);
  auto back = readAllNow(*bucket, digest, content.size());
  REQUIRE(back.ok());
  CHECK((*back == content));
}
