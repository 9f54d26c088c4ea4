#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <random>

#include "app/bundle_pin.h"
#include "base/clock.h"
#include "ca/authority.h"
#include "ca/ca_files.h"
#include "ca/leaf_minter.h"

using namespace regcache;
using namespace regcache::app;
namespace fs = std::filesystem;

namespace {
// A real CA in a temp dir: its root, its fingerprint as `ca show` prints it, and a leaf.
struct TestCa {
  fs::path dir;
  std::shared_ptr<const ca::Authority> authority;
  std::string rootPem, fingerprint, leafPem, leafFingerprint;
  TestCa() {
    std::random_device random;
    dir = fs::temp_directory_path() / ("regcache-pin-" + std::to_string(random()));
    authority = ca::Authority::create(dir, SystemClock::instance()).value();
    rootPem = authority->bundlePem();
    fingerprint = ca::fingerprintSha256(authority->signingCert());
    auto leaf = ca::mintLeaf(*authority, "registry.test", SystemClock::instance());
    leafPem = ca::toPem(leaf.value().cert.get());
    leafFingerprint = ca::fingerprintSha256(leaf.value().cert.get());
  }
  ~TestCa() { fs::remove_all(dir); }
};
std::string lowerWithoutColons(std::string text) {
  text.erase(std::remove(text.begin(), text.end(), ':'), text.end());
  for (char &c : text)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}
} // namespace

TEST_CASE("a fingerprint is accepted with or without colons, in either case", "[app][pin]") {
  TestCa ca;
  CHECK(normalizeFingerprint(ca.fingerprint) == ca.fingerprint);
  CHECK(normalizeFingerprint(lowerWithoutColons(ca.fingerprint)) == ca.fingerprint);
  CHECK_FALSE(normalizeFingerprint("AB:CD").has_value());
  CHECK_FALSE(normalizeFingerprint(std::string(64, 'g')).has_value());
  CHECK_FALSE(normalizeFingerprint(lowerWithoutColons(ca.fingerprint) + "00").has_value());
}

TEST_CASE("a bundle without the pinned root is refused", "[app][pin]") {
  TestCa ours, theirs;
  auto refused = keepPinnedRoots(theirs.rootPem, {ours.fingerprint});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.failure().code == Error::kPolicy);
  CHECK(refused.failure().detail.find(ours.fingerprint) != std::string::npos);
  CHECK(keepPinnedRoots("no certificate here", {ours.fingerprint}).failure().code ==
        Error::kInvalidInput);
}

TEST_CASE("only the pinned roots of a bundle are kept; an appended root is skipped", "[app][pin]") {
  TestCa ours, theirs;
  auto pinned = keepPinnedRoots(theirs.rootPem + ours.rootPem, {ours.fingerprint});
  REQUIRE(pinned.ok());
  CHECK(pinned->pem == ours.rootPem);
  CHECK(pinned->kept == std::vector<std::string>{ours.fingerprint});
  CHECK(pinned->skipped == std::vector<std::string>{theirs.fingerprint});
  auto both =
      keepPinnedRoots(theirs.rootPem + ours.rootPem, {ours.fingerprint, theirs.fingerprint});
  REQUIRE(both.ok());
  CHECK(both->kept.size() == 2);
}

TEST_CASE("a pinned certificate that is not a CA is not installed as a root", "[app][pin]") {
  TestCa ca;
  auto refused = keepPinnedRoots(ca.leafPem, {ca.leafFingerprint});
  CHECK_FALSE(refused.ok());
  CHECK(rootFingerprints(ca.rootPem + ca.leafPem) == std::vector<std::string>{ca.fingerprint});
}
