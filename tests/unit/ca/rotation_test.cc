#include <catch2/catch.hpp>

#include <openssl/pem.h>

#include "ca/authority.h"
#include "ca/leaf_minter.h"
#include "temp_dir.h"
#include "verify.h"

using namespace regcache;
using namespace std::chrono_literals;
using regcache::test::TempDir;
using regcache::test::verifyLeaf;

namespace {

// Every certificate in a PEM bundle.
std::vector<X509Ptr> parseBundle(const std::string &pem) {
  std::vector<X509Ptr> certs;
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  while (X509 *cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certs.emplace_back(cert);
  }
  return certs;
}

std::vector<X509 *> raw(const std::vector<X509Ptr> &certs) {
  std::vector<X509 *> out;
  for (const auto &c : certs)
    out.push_back(c.get());
  return out;
}

long unixTime(const Clock &clock) {
  return static_cast<long>(std::chrono::system_clock::to_time_t(clock.now()));
}

// What a TLS client holding `trusted` sees from a proxy minting with the CA as it is now.
int handshake(const std::filesystem::path &dir, const ManualClock &clock,
              const std::vector<X509 *> &trusted) {
  auto authority = ca::Authority::load(dir, clock);
  REQUIRE(authority.ok());
  ca::MintOptions mint;
  mint.validity = 4h;
  auto leaf = ca::mintLeaf(*authority.value(), "registry.test", clock, mint);
  REQUIRE(leaf.ok());
  return verifyLeaf(
      {leaf->cert.get(), trusted, raw(leaf->chain), "registry.test", "", unixTime(clock)});
}

struct Timeline {
  TempDir tmp;
  std::filesystem::path dir = tmp.path() / "ca";
  ManualClock clock{std::chrono::system_clock::now()};
  std::vector<X509Ptr> oldBundle, newBundle;
  X509Ptr oldRoot;

  Timeline() {
    auto created = ca::Authority::create(dir, clock);
    REQUIRE(created.ok());
    oldBundle = parseBundle(created.value()->bundlePem());
    oldRoot = shareX509(created.value()->signingCert());
    clock.advance(60s);
    ca::RotateOptions rotate;
    rotate.overlap = 1h;
    rotate.leafValidity = 4h;
    REQUIRE(ca::Authority::rotate(dir, clock, rotate).ok());
    auto rotated = ca::Authority::load(dir, clock);
    REQUIRE(rotated.ok());
    newBundle = parseBundle(rotated.value()->bundlePem());
  }
};

} // namespace

TEST_CASE("a rotation publishes the new root at once, newest first, without signing with it",
          "[ca][rotation]") {
  Timeline t;
  REQUIRE(t.oldBundle.size() == 1);
  REQUIRE(t.newBundle.size() == 2);
  CHECK(X509_cmp(t.newBundle[1].get(), t.oldRoot.get()) == 0);
  auto authority = ca::Authority::load(t.dir, t.clock);
  REQUIRE(authority.ok());
  const auto &g = authority.value()->generations();
  REQUIRE(g.size() == 2);
  CHECK(g[0].state == ca::RootState::kActive);
  CHECK(g[1].state == ca::RootState::kNext);
  CHECK(X509_cmp(authority.value()->signingCert(), t.oldRoot.get()) == 0);
  CHECK(authority.value()->nextTransition().has_value());
}

TEST_CASE("every client verifies the presented chain at every step until the old root retires",
          "[ca][rotation]") {
  Timeline t;
  std::vector<X509 *> oldRootOnly{t.oldRoot.get()};
  // Steps: during the overlap, right after the switch, late in the retiring period.
  // Minutes after the rotation: during the overlap, then after the switch (at 60).
  long previous = 0;
  for (long minute : {10L, 50L, 61L, 120L, 180L, 290L}) {
    t.clock.advance(std::chrono::minutes(minute - previous));
    previous = minute;
    INFO("t+" << minute << "m");
    CHECK(handshake(t.dir, t.clock, raw(t.oldBundle)) == X509_V_OK);
    CHECK(handshake(t.dir, t.clock, raw(t.newBundle)) == X509_V_OK);
    CHECK(handshake(t.dir, t.clock, oldRootOnly) == X509_V_OK);
  }
}

TEST_CASE("after the switch leaves chain to the new root through a cross-certificate",
          "[ca][rotation]") {
  Timeline t;
  t.clock.advance(2h);
  auto authority = ca::Authority::load(t.dir, t.clock);
  REQUIRE(authority.ok());
  const auto &g = authority.value()->generations();
  CHECK(g[0].state == ca::RootState::kRetiring);
  CHECK(g[1].state == ca::RootState::kActive);
  CHECK(X509_cmp(authority.value()->signingCert(), t.newBundle[0].get()) == 0);
  REQUIRE(authority.value()->chainCerts().size() == 1);
  X509 *cross = authority.value()->chainCerts()[0].get();
  CHECK(X509_NAME_cmp(X509_get_subject_name(cross), X509_get_subject_name(t.newBundle[0].get())) ==
        0);
  CHECK(X509_check_issued(t.oldRoot.get(), cross) == X509_V_OK);
  // Only the new root trusted: the client needs no cross-certificate.
  std::vector<X509 *> newRootOnly{t.newBundle[0].get()};
  CHECK(handshake(t.dir, t.clock, newRootOnly) == X509_V_OK);
}

TEST_CASE("once the old root is retired, a client holding only it fails", "[ca][rotation]") {
  Timeline t;
  t.clock.advance(1h + 4h + 1min);
  auto authority = ca::Authority::load(t.dir, t.clock);
  REQUIRE(authority.ok());
  CHECK(authority.value()->generations()[0].state == ca::RootState::kRetired);
  CHECK(parseBundle(authority.value()->bundlePem()).size() == 1);
  CHECK(authority.value()->chainCerts().empty());
  std::vector<X509 *> oldRootOnly{t.oldRoot.get()};
  CHECK(handshake(t.dir, t.clock, oldRootOnly) != X509_V_OK);
  CHECK(handshake(t.dir, t.clock, raw(t.newBundle)) == X509_V_OK);
}

TEST_CASE("an emergency rotation retires the old root at once", "[ca][rotation]") {
  TempDir tmp;
  auto dir = tmp.path() / "ca";
  ManualClock clock(std::chrono::system_clock::now());
  auto created = ca::Authority::create(dir, clock);
  REQUIRE(created.ok());
  X509Ptr oldRoot = shareX509(created.value()->signingCert());
  ca::RotateOptions rotate;
  rotate.emergency = true;
  REQUIRE(ca::Authority::rotate(dir, clock, rotate).ok());
  auto authority = ca::Authority::load(dir, clock);
  REQUIRE(authority.ok());
  CHECK(authority.value()->generations()[0].state == ca::RootState::kRetired);
  CHECK(authority.value()->generations()[1].state == ca::RootState::kActive);
  CHECK(parseBundle(authority.value()->bundlePem()).size() == 1);
  std::vector<X509 *> oldRootOnly{oldRoot.get()};
  CHECK(handshake(dir, clock, oldRootOnly) != X509_V_OK);
}

TEST_CASE("a second rotation is refused while one is pending", "[ca][rotation]") {
  Timeline t;
  auto again = ca::Authority::rotate(t.dir, t.clock, ca::RotateOptions{});
  REQUIRE_FALSE(again.ok());
  CHECK(again.failure().detail.find("already pending") != std::string::npos);
}

TEST_CASE("the bundle changes identity and date when a root is published or retired",
          "[ca][rotation]") {
  TempDir tmp;
  auto dir = tmp.path() / "ca";
  ManualClock clock(std::chrono::system_clock::now());
  auto created = ca::Authority::create(dir, clock);
  REQUIRE(created.ok());
  std::string before = created.value()->identity();
  clock.advance(10min);
  REQUIRE(ca::Authority::rotate(dir, clock, ca::RotateOptions{1h, 2h, false}).ok());
  auto published = ca::Authority::load(dir, clock);
  REQUIRE(published.ok());
  CHECK(published.value()->identity() != before);
  CHECK(published.value()->bundleChangedAt() > created.value()->bundleChangedAt());
  clock.advance(4h);
  auto retired = ca::Authority::load(dir, clock);
  REQUIRE(retired.ok());
  CHECK(retired.value()->identity() != published.value()->identity());
  CHECK(retired.value()->bundleChangedAt() > published.value()->bundleChangedAt());
}

TEST_CASE("name constraints limit the roots and the hosts that get leaves", "[ca][constraints]") {
  TempDir tmp;
  auto dir = tmp.path() / "ca";
  ca::AuthorityOptions options;
  options.permittedDns = {"docker.io", ".ghcr.io"};
  auto created = ca::Authority::create(dir, SystemClock::instance(), options);
  REQUIRE(created.ok());
  const auto &authority = *created.value();
  CHECK(authority.permits("docker.io"));
  CHECK(authority.permits("registry-1.docker.io"));
  CHECK(authority.permits("pkg.ghcr.io"));
  CHECK_FALSE(authority.permits("ghcr.io"));
  CHECK_FALSE(authority.permits("mybank.example"));
  CHECK_FALSE(authority.permits("evildocker.io"));
  // OpenSSL's verifier enforces the constraint on a leaf outside it.
  auto bad = ca::mintLeaf(authority, "mybank.example", SystemClock::instance());
  REQUIRE(bad.ok());
  CHECK(verifyLeaf({bad->cert.get(), {authority.signingCert()}, {}, "mybank.example", "", 0}) ==
        X509_V_ERR_PERMITTED_VIOLATION);
  auto good = ca::mintLeaf(authority, "registry-1.docker.io", SystemClock::instance());
  REQUIRE(good.ok());
  CHECK(verifyLeaf(
            {good->cert.get(), {authority.signingCert()}, {}, "registry-1.docker.io", "", 0}) ==
        X509_V_OK);
  // A rotated root keeps the constraints, and so does its cross-certificate.
  REQUIRE(
      ca::Authority::rotate(dir, SystemClock::instance(), ca::RotateOptions{0s, 1h, false}).ok());
  auto rotated = ca::Authority::load(dir);
  REQUIRE(rotated.ok());
  CHECK_FALSE(rotated.value()->permits("mybank.example"));
  CHECK(rotated.value()->permittedDns().size() == 2);
}

TEST_CASE("an emergency rotation during a retiring period distrusts every older root",
          "[ca][rotation]") {
  Timeline t;
  t.clock.advance(2h); // G2 active, G1 retiring
  ca::RotateOptions emergency;
  emergency.emergency = true;
  REQUIRE(ca::Authority::rotate(t.dir, t.clock, emergency).ok());
  auto authority = ca::Authority::load(t.dir, t.clock);
  REQUIRE(authority.ok());
  const auto &g = authority.value()->generations();
  REQUIRE(g.size() == 3);
  CHECK(g[0].state == ca::RootState::kRetired);
  CHECK(g[1].state == ca::RootState::kRetired);
  CHECK(g[2].state == ca::RootState::kActive);
  CHECK(parseBundle(authority.value()->bundlePem()).size() == 1);
  CHECK(authority.value()->chainCerts().empty());
  CHECK(handshake(t.dir, t.clock, raw(t.newBundle)) != X509_V_OK);
}
