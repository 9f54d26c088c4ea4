#pragma once
// The S3 store as a conformance suite fixture (tests/unit/cache/blob_store_conformance_test.cc
// with REGCACHE_CONFORMANCE_S3): a store on the RGW test bucket under a prefix of its own.
#include <catch2/catch.hpp>

#include "cache/s3/s3_blob_store.h"
#include "cache/s3/s3_xml.h"
#include "rgw_env.h"
#include "temp_dir.h"

namespace regcache::test {

struct S3Store {
  TempDir spool;
  cache::s3::S3StoreOptions options = [this] {
    auto made = rgwStoreOptions(spool);
    made.abandonedUploadAge = std::chrono::seconds(0); // every upload left over counts
    return made;
  }();
  std::unique_ptr<cache::s3::S3BlobStore> owned = make();

  std::unique_ptr<cache::s3::S3BlobStore> make() {
    auto store = std::make_unique<cache::s3::S3BlobStore>(options);
    REQUIRE(store->createBucket().ok());
    return store;
  }
  cache::BlobStore &store() { return *owned; }
  // What a host killed mid-upload leaves: a multipart upload nobody completes.
  void leaveInterruptedWrite() {
    cache::s3::S3Request initiate;
    initiate.method = "POST";
    initiate.key = owned->blobsPrefix() + randomHex(64);
    initiate.query = {{"uploads", ""}};
    initiate.payloadHash = std::string(cache::s3::kEmptyPayloadHash);
    auto response = owned->client().send(initiate);
    REQUIRE(response.ok());
    REQUIRE(response->status == 200);
    REQUIRE(cache::s3::parseUploadId(response->body).ok());
  }
  // The store's queued requests all ran once it is destroyed; a new one continues.
  void settle() {
    owned.reset();
    owned = make();
  }
};

} // namespace regcache::test
