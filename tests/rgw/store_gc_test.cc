// regcache store gc against RGW, through the command line as an operator runs it: blobs whose
// last use (upload or marker) is older than --older-than go with their markers, fresh ones stay,
// orphaned markers go, and uploads begun before the cut-off are aborted.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <iostream>
#include <sstream>
#include <thread>

#include "app/cli.h"
#include "app/commands.h"
#include "base/sha256.h"
#include "cache/blob_store_sync.h"
#include "cache/s3/s3_blob_store.h"
#include "rgw_env.h"
#include "temp_dir.h"

using namespace regcache;
using namespace regcache::cache;
using namespace regcache::cache::s3;
using regcache::test::TempDir;

namespace {

using test::digestOf;

void putMarker(S3BlobStore &store, const Digest &digest) {
  S3Request put;
  put.method = "PUT";
  put.key = store.markerKey(digest);
  put.payloadHash = std::string(kEmptyPayloadHash);
  auto response = store.client().send(put);
  REQUIRE(response.ok());
  REQUIRE(response->status == 200);
}

std::string startUpload(S3BlobStore &store) {
  S3Request initiate;
  initiate.method = "POST";
  initiate.key = store.blobsPrefix() + test::randomHex(64);
  initiate.query = {{"uploads", ""}};
  initiate.payloadHash = std::string(kEmptyPayloadHash);
  auto response = store.client().send(initiate);
  REQUIRE(response.ok());
  REQUIRE(response->status == 200);
  return initiate.key;
}

bool hasObject(S3BlobStore &store, const std::string &key) {
  auto objects = store.listObjects(key);
  REQUIRE(objects.ok());
  return !objects->empty();
}

// Runs `regcache store gc ARGS...` in this process; its exit code and standard output.
std::pair<int, std::string> storeGc(const S3BlobStore &store, std::vector<std::string> extra) {
  std::vector<std::string> args = {"regcache",
                                   "store",
                                   "gc",
                                   "--store",
                                   "s3://" + store.options().bucket + "/" + store.options().prefix,
                                   "--s3-endpoint",
                                   test::rgwEnv().endpoint,
                                   "--s3-allow-plain-http"};
  args.insert(args.end(), extra.begin(), extra.end());
  std::vector<const char *> argv;
  for (const auto &arg : args)
    argv.push_back(arg.c_str());
  ::setenv("AWS_ACCESS_KEY_ID", test::rgwEnv().accessKey.c_str(), 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", test::rgwEnv().secretKey.c_str(), 1);
  app::Cli cli;
  auto command = cli.parse(static_cast<int>(argv.size()), argv.data());
  REQUIRE(command.command == app::Command::kStoreGc);
  std::ostringstream out;
  auto *saved = std::cout.rdbuf(out.rdbuf());
  int code = app::runStoreGc(command);
  std::cout.rdbuf(saved);
  return {code, out.str()};
}

} // namespace

TEST_CASE("store gc: old blobs and markers go, fresh ones stay, old uploads are aborted",
          "[s3][rgw][gc]") {
  TempDir spool;
  S3BlobStore store(test::rgwStoreOptions(spool));
  REQUIRE(store.createBucket().ok());
  Digest old = digestOf("used long ago"), renewed = digestOf("used again lately");
  Digest fresh = digestOf("uploaded lately"), orphan = digestOf("a marker without a blob");
  REQUIRE(putNow(store, old, "used long ago").ok());
  REQUIRE(putNow(store, renewed, "used again lately").ok());
  putMarker(store, old);
  putMarker(store, orphan);
  std::string oldUpload = startUpload(store);
  // The cut-off: everything above is older, everything below younger, by 1.5 s at least. Each
  // run's --older-than is computed from it, so a slow machine cannot move a fresh object past it.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  auto cutoff = std::chrono::system_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  auto olderThan = [&] {
    auto age = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now() - cutoff);
    return std::to_string(age.count()) + "ms";
  };
  putMarker(store, renewed); // its marker is fresh, though its upload is old
  REQUIRE(putNow(store, fresh, "uploaded lately").ok());
  std::string freshUpload = startUpload(store);

  auto [dryCode, dry] = storeGc(store, {"--older-than", olderThan(), "--dry-run", "--json"});
  CHECK(dryCode == 0);
  CHECK(dry.find("\"dryRun\":true") != std::string::npos);
  CHECK(dry.find(old.toString()) != std::string::npos);
  CHECK(dry.find(orphan.toString()) != std::string::npos);
  CHECK(dry.find(oldUpload) != std::string::npos);
  CHECK(hasObject(store, store.blobKey(old))); // a dry run changes nothing

  auto [code, text] = storeGc(store, {"--older-than", olderThan()});
  CHECK(code == 0);
  CHECK(text.find("removed 1 blob(s)") != std::string::npos);
  CHECK_FALSE(hasObject(store, store.blobKey(old)));
  CHECK_FALSE(hasObject(store, store.markerKey(old)));
  CHECK_FALSE(hasObject(store, store.markerKey(orphan)));
  CHECK(hasObject(store, store.blobKey(renewed)));
  CHECK(hasObject(store, store.blobKey(fresh)));
  auto uploads = store.listUploads();
  REQUIRE(uploads.ok());
  REQUIRE(uploads->size() == 1);
  CHECK(uploads->front().key == freshUpload);
}
