// The cache lookup without a worker: a request, an index view and an access memo in, a verdict
// out.
#include <catch2/catch.hpp>

#include "base/clock.h"
#include "base/oci/registry_route.h"
#include "cache/index_view.h"
#include "proxy/cache/cache_lookup.h"

using namespace regcache;
using namespace regcache::proxy;
using namespace std::chrono_literals;

namespace {

const std::string kDigest =
    "sha256:" + std::string(64, 'a'); // a well-formed digest; its bytes never matter here
const cache::TimePoint kNow(1700000000s);

struct Fixture {
  cache::IndexView view;
  ManualClock clock{kNow};
  AccessMemo memo{clock, 60s};
  LookupPolicy policy{5min, OfflineAuth::kDeny, kNow};

  void store(const std::string &registry, const std::string &repository, bool anonymous) {
    view.putBlob(cache::BlobRecord{kDigest, 42, "application/octet-stream", false, kNow, kNow, 0},
                 {registry, repository, anonymous});
  }
  CacheLookup lookup(const std::string &path, const std::string &authorization = "",
                     const std::string &registry = "r.io") {
    auto route = oci::parseRegistryPath(path);
    REQUIRE(route);
    LookupRequest request;
    request.route = *route;
    request.registry = registry;
    request.acceptKey = "application/json";
    if (!authorization.empty()) request.credential = Credential::of(authorization);
    return lookupCache(request, view, memo, policy);
  }
};

const std::string kBlobPath = "/v2/lib/app/blobs/" + kDigest;

} // namespace

TEST_CASE("lookup: content served anonymously is a hit for anyone under that repository",
          "[cache][lookup]") {
  Fixture f;
  f.store("r.io", "lib/app", true);
  auto hit = f.lookup(kBlobPath);
  CHECK(hit.outcome == CacheLookup::Outcome::kHit);
  CHECK(hit.blob.digest == kDigest);
  CHECK(hit.blob.size == 42);
  CHECK_FALSE(hit.blob.manifest);
  CHECK(f.lookup(kBlobPath, "Bearer someone").outcome == CacheLookup::Outcome::kHit);
}

TEST_CASE("lookup: an unknown digest, or one never served by this registry, is a miss",
          "[cache][lookup]") {
  Fixture f;
  CHECK(f.lookup(kBlobPath).outcome == CacheLookup::Outcome::kMiss);
  f.store("r.io", "lib/app", true);
  // A client naming its own server gets no confirmation from it: the bytes must come.
  CHECK(f.lookup(kBlobPath, "", "evil.example").outcome == CacheLookup::Outcome::kMiss);
}

TEST_CASE("lookup: under another repository, or fetched with credentials, upstream must confirm",
          "[cache][lookup]") {
  Fixture f;
  f.store("r.io", "lib/app", false);
  auto anonymous = f.lookup(kBlobPath);
  CHECK(anonymous.outcome == CacheLookup::Outcome::kConfirm);
  CHECK_FALSE(anonymous.servableOffline);
  auto withToken = f.lookup(kBlobPath, "Bearer t1");
  CHECK(withToken.outcome == CacheLookup::Outcome::kConfirm);
  // Once upstream accepted this credential for the repository, it is a hit for a while.
  f.memo.remember(Credential::of("Bearer t1"), "r.io", "lib/app");
  CHECK(f.lookup(kBlobPath, "Bearer t1").outcome == CacheLookup::Outcome::kHit);
  CHECK(f.lookup(kBlobPath, "Bearer t2").outcome == CacheLookup::Outcome::kConfirm);
  f.clock.advance(61s);
  CHECK(f.lookup(kBlobPath, "Bearer t1").outcome == CacheLookup::Outcome::kConfirm);
  // Accepted for the repository covers only what was served under it.
  f.memo.remember(Credential::of("Bearer t1"), "r.io", "lib/other");
  CHECK(f.lookup("/v2/lib/other/blobs/" + kDigest, "Bearer t1").outcome ==
        CacheLookup::Outcome::kConfirm);
}

TEST_CASE("lookup: only public content, or trusted credentials, may be served offline",
          "[cache][lookup]") {
  Fixture f;
  f.store("r.io", "lib/app", false);
  f.store("r.io", "lib/pub", true);
  CHECK(f.lookup("/v2/lib/other/blobs/" + kDigest).servableOffline == false);
  CHECK_FALSE(f.lookup(kBlobPath, "Bearer t").servableOffline);
  f.policy.offlineAuth = OfflineAuth::kTrustCached;
  CHECK(f.lookup(kBlobPath, "Bearer t").servableOffline);
  CHECK_FALSE(f.lookup(kBlobPath).servableOffline); // never to a client without credentials
  CHECK_FALSE(f.lookup("/v2/lib/other/blobs/" + kDigest, "Bearer t").servableOffline);
}

TEST_CASE("lookup: a tag is a hit while fresh, then revalidated with the copy kept",
          "[cache][lookup]") {
  Fixture f;
  f.store("r.io", "lib/app", true);
  cache::TagRecord tag{"r.io",     "lib/app",
                       "v1",       "application/json",
                       kDigest,    "application/vnd.oci.image.manifest.v1+json",
                       kNow - 1min};
  f.view.putTag(tag);
  auto fresh = f.lookup("/v2/lib/app/manifests/v1");
  CHECK(fresh.outcome == CacheLookup::Outcome::kHit);
  CHECK(fresh.blob.manifest);
  CHECK(fresh.blob.mediaType == tag.mediaType);
  REQUIRE(fresh.tag);
  CHECK(fresh.tag->tag == "v1");
  f.policy.now = kNow + 10min;
  auto stale = f.lookup("/v2/lib/app/manifests/v1");
  CHECK(stale.outcome == CacheLookup::Outcome::kConfirm);
  CHECK(stale.servableOffline);
  // Another Accept set is another entry; an unknown tag, or one whose manifest is gone, a miss.
  LookupRequest otherAccept;
  otherAccept.route = *oci::parseRegistryPath("/v2/lib/app/manifests/v1");
  otherAccept.registry = "r.io";
  otherAccept.acceptKey = "other";
  CHECK(lookupCache(otherAccept, f.view, f.memo, f.policy).outcome == CacheLookup::Outcome::kMiss);
  CHECK(f.lookup("/v2/lib/app/manifests/v2").outcome == CacheLookup::Outcome::kMiss);
  f.view.removeBlob(kDigest);
  CHECK(f.lookup("/v2/lib/app/manifests/v1").outcome == CacheLookup::Outcome::kMiss);
}

TEST_CASE("lookup: a blob asked for under /manifests/ by digest is looked up as a manifest",
          "[cache][lookup]") {
  Fixture f;
  f.store("r.io", "lib/app", true);
  auto asManifest = f.lookup("/v2/lib/app/manifests/" + kDigest);
  CHECK(asManifest.outcome == CacheLookup::Outcome::kHit);
  CHECK(asManifest.blob.manifest);
}

TEST_CASE("the accept key ignores order, parameters, spaces and repeats", "[cache][lookup]") {
  http::RequestHead a;
  a.headers.add("Accept", "b, a;q=0.5");
  a.headers.add("accept", "a");
  http::RequestHead b;
  b.headers.add("Accept", "a,b");
  CHECK(acceptKey(a) == "a,b");
  CHECK(acceptKey(a) == acceptKey(b));
}
