#pragma once
// What the RGW fixture (tests/ceph/rgw-ctest.sh) exported, for tests of the S3 store: the
// endpoint and keys from $REGCACHE_RGW_ENV (an s3.env file of `export NAME=value` lines).
#include <memory>
#include <string>

#include "cache/s3/s3_blob_store.h"
#include "temp_dir.h"

namespace regcache::test {

struct RgwEnv {
  std::string endpoint; // http://127.0.0.1:PORT
  std::string accessKey;
  std::string secretKey;
  std::string rgwDir; // the state directory (its run/rgw.pid is the radosgw process)
};

// Reads the file once; a test fails (REQUIRE) when it is missing.
const RgwEnv &rgwEnv();

// The bucket every RGW test shares; each store gets a prefix of its own.
inline constexpr const char *kTestBucket = "regcache-tests";

// Options for a store on the test bucket under a new random prefix, spooling in `spool`.
cache::s3::S3StoreOptions rgwStoreOptions(const TempDir &spool);

// The digest of `content`.
cache::Digest digestOf(const std::string &content);

// `size` deterministic bytes that differ along the blob (a linear congruential sequence started
// from `seed`), so that a byte out of place changes the digest.
std::string patterned(std::size_t size, unsigned seed);

// A random lowercase hex string of `length` characters.
std::string randomHex(std::size_t length);

} // namespace regcache::test
