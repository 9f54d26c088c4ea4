#include <catch2/catch.hpp>

#include <sys/stat.h>

#include "ca/authority.h"
#include "temp_dir.h"

using namespace regcache;
using regcache::test::TempDir;

TEST_CASE("a created CA is found again with the same root", "[ca]") {
  TempDir dir;
  auto created = ca::Authority::create(dir.path() / "ca", SystemClock::instance());
  REQUIRE(created.ok());
  auto loaded = ca::Authority::load(dir.path() / "ca");
  REQUIRE(loaded.ok());
  CHECK(ca::fingerprintSha256(loaded.value()->signingCert()) ==
        ca::fingerprintSha256(created.value()->signingCert()));
  CHECK(loaded.value()->bundlePem() == created.value()->bundlePem());
  auto again = ca::Authority::loadOrCreate(dir.path() / "ca", SystemClock::instance());
  REQUIRE(again.ok());
  CHECK(again.value()->bundlePem() == created.value()->bundlePem());
}

TEST_CASE("the CA key is written 0600 in a 0700 directory", "[ca]") {
  TempDir dir;
  REQUIRE(ca::Authority::create(dir.path() / "ca", SystemClock::instance()).ok());
  struct stat st {};
  REQUIRE(::stat((dir.path() / "ca" / "gen-0001" / "root.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat((dir.path() / "ca").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
}

TEST_CASE("loading refuses a key readable by others", "[ca][security]") {
  TempDir dir;
  REQUIRE(ca::Authority::create(dir.path() / "ca", SystemClock::instance()).ok());
  ::chmod((dir.path() / "ca" / "gen-0001" / "root.key").c_str(), 0644);
  auto loaded = ca::Authority::load(dir.path() / "ca");
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.failure().code == Error::kPolicy);
}

TEST_CASE("create refuses to overwrite an existing CA", "[ca]") {
  TempDir dir;
  REQUIRE(ca::Authority::create(dir.path() / "ca", SystemClock::instance()).ok());
  CHECK_FALSE(ca::Authority::create(dir.path() / "ca", SystemClock::instance()).ok());
}

TEST_CASE("load reports a missing CA as not found", "[ca]") {
  TempDir dir;
  auto loaded = ca::Authority::load(dir.path() / "nothing");
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.failure().code == Error::kNotFound);
}

TEST_CASE("the root is a CA certificate with a positive serial", "[ca]") {
  TempDir dir;
  auto created = ca::Authority::create(dir.path() / "ca", SystemClock::instance());
  REQUIRE(created.ok());
  X509 *root = created.value()->signingCert();
  CHECK(X509_check_ca(root) >= 1);
  BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(root), nullptr));
  CHECK_FALSE(BN_is_negative(serial.get()));
  CHECK(BN_num_bits(serial.get()) > 64);
  CHECK(X509_verify(root, X509_get0_pubkey(root)) == 1);
  CHECK(created.value()->describe().find("sha256:") != std::string::npos);
}
