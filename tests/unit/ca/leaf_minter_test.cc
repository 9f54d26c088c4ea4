#include <catch2/catch.hpp>

#include "ca/authority.h"
#include "ca/leaf_minter.h"
#include "temp_dir.h"
#include "verify.h"

using namespace regcache;
using regcache::test::TempDir;
using regcache::test::verifyLeaf;

namespace {

std::shared_ptr<const ca::Authority> makeAuthority(const TempDir &dir) {
  auto authority = ca::Authority::create(dir.path() / "ca", SystemClock::instance());
  REQUIRE(authority.ok());
  return authority.value();
}

} // namespace

TEST_CASE("a leaf for a DNS name verifies against the root for that name only", "[ca][leaf]") {
  TempDir dir;
  auto authority = makeAuthority(dir);
  auto leaf = ca::mintLeaf(*authority, "Registry-1.Docker.io.", SystemClock::instance());
  REQUIRE(leaf.ok());
  X509 *root = authority->signingCert();
  CHECK(verifyLeaf({leaf->cert.get(), {root}, {}, "registry-1.docker.io", "", 0}) == X509_V_OK);
  CHECK(verifyLeaf({leaf->cert.get(), {root}, {}, "ghcr.io", "", 0}) ==
        X509_V_ERR_HOSTNAME_MISMATCH);
  CHECK(verifyLeaf({leaf->cert.get(), {}, {}, "registry-1.docker.io", "", 0}) != X509_V_OK);
}

TEST_CASE("a leaf for an IP literal carries an IP SAN", "[ca][leaf]") {
  TempDir dir;
  auto authority = makeAuthority(dir);
  X509 *root = authority->signingCert();
  auto v4 = ca::mintLeaf(*authority, "127.0.0.1", SystemClock::instance());
  REQUIRE(v4.ok());
  CHECK(verifyLeaf({v4->cert.get(), {root}, {}, "", "127.0.0.1", 0}) == X509_V_OK);
  CHECK(verifyLeaf({v4->cert.get(), {root}, {}, "", "127.0.0.2", 0}) != X509_V_OK);
  auto v6 = ca::mintLeaf(*authority, "[::1]", SystemClock::instance());
  REQUIRE(v6.ok());
  CHECK(verifyLeaf({v6->cert.get(), {root}, {}, "", "::1", 0}) == X509_V_OK);
}

TEST_CASE("leaves have the properties Go verifiers insist on", "[ca][leaf]") {
  TempDir dir;
  auto authority = makeAuthority(dir);
  auto now = SystemClock::instance().now();
  auto leaf = ca::mintLeaf(*authority, "registry.test", SystemClock::instance());
  REQUIRE(leaf.ok());
  X509 *cert = leaf->cert.get();

  BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  CHECK_FALSE(BN_is_negative(serial.get()));
  CHECK(BN_num_bits(serial.get()) > 64);

  GeneralNamesPtr sans(
      static_cast<GENERAL_NAMES *>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  REQUIRE(sans);
  REQUIRE(sk_GENERAL_NAME_num(sans.get()) == 1);
  CHECK(sk_GENERAL_NAME_value(sans.get(), 0)->type == GEN_DNS);

  CHECK((X509_get_extended_key_usage(cert) & XKU_SSL_SERVER) != 0);
  CHECK(X509_check_ca(cert) == 0);
  CHECK(EVP_PKEY_get_bits(X509_get0_pubkey(cert)) == 256);
  CHECK(EVP_PKEY_is_a(X509_get0_pubkey(cert), "EC"));

  CHECK(leaf->notBefore < now);
  CHECK(leaf->notAfter - now > std::chrono::hours(24));
  CHECK(leaf->notAfter - now <= std::chrono::hours(24 * 8));
  CHECK(X509_cmp_current_time(X509_get0_notBefore(cert)) < 0);
}

TEST_CASE("two leaves for one host have different serials and keys", "[ca][leaf]") {
  TempDir dir;
  auto authority = makeAuthority(dir);
  auto a = ca::mintLeaf(*authority, "a.test", SystemClock::instance());
  auto b = ca::mintLeaf(*authority, "a.test", SystemClock::instance());
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(ASN1_INTEGER_cmp(X509_get0_serialNumber(a->cert.get()),
                         X509_get0_serialNumber(b->cert.get())) != 0);
  CHECK(EVP_PKEY_eq(a->key.get(), b->key.get()) != 1);
}

TEST_CASE("invalid hosts get no leaf", "[ca][leaf]") {
  TempDir dir;
  auto authority = makeAuthority(dir);
  for (const char *bad :
       {"", " ", "a..b", "-bad.test", "bad-.test", "sp ace.test", "a/b", "x.y:443", "[::1"}) {
    INFO(bad);
    CHECK_FALSE(ca::mintLeaf(*authority, bad, SystemClock::instance()).ok());
  }
  CHECK_FALSE(
      ca::mintLeaf(*authority, std::string(64, 'a') + ".test", SystemClock::instance()).ok());
}

TEST_CASE("hosts normalize to lowercase names and canonical IPs", "[ca][leaf]") {
  CHECK(ca::normalizeHost("Registry.TEST.") == "registry.test");
  CHECK(ca::normalizeHost("[::0001]") == "::1");
  CHECK(ca::normalizeHost("10.0.0.1") == "10.0.0.1");
  CHECK(ca::normalizeHost("bad host").empty());
}
