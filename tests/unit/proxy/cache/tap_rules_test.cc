#include <catch2/catch.hpp>

#include "proxy/cache/tap_rules.h"

using regcache::proxy::coversFailure;
using regcache::proxy::judgeHead;
using regcache::proxy::revalidates;
using regcache::proxy::TapHead;
using regcache::proxy::TapIntent;
using regcache::proxy::TapVerdict;

namespace {

TapIntent leadsFill() {
  TapIntent intent;
  intent.fill = true;
  return intent;
}

TapIntent blobCandidate() {
  TapIntent intent;
  intent.candidate = true;
  intent.candidateIsBlob = true;
  return intent;
}

TapHead answer(std::string_view method, int status) {
  TapHead head;
  head.method = method;
  head.status = status;
  head.resendable = true;
  head.mayRedirect = true;
  return head;
}

TapHead redirect(std::string_view method) {
  TapHead head = answer(method, 307);
  head.redirect = true;
  return head;
}

} // namespace

TEST_CASE("a fill's GET answered 200 feeds the fill; anything else passes to the client") {
  CHECK(judgeHead(leadsFill(), answer("GET", 200)) == TapVerdict::kFill);
  CHECK(judgeHead(leadsFill(), answer("GET", 404)) == TapVerdict::kPass);
  CHECK(judgeHead(leadsFill(), answer("GET", 206)) == TapVerdict::kPass);
  CHECK(judgeHead(leadsFill(), answer("HEAD", 200)) == TapVerdict::kPass);
  CHECK(judgeHead(TapIntent{}, answer("GET", 200)) == TapVerdict::kPass);
}

TEST_CASE("a fill follows a redirect to its CDN only while the request can be sent again") {
  CHECK(judgeHead(leadsFill(), redirect("GET")) == TapVerdict::kFollowRedirect);
  TapHead withBody = redirect("GET");
  withBody.resendable = false;
  CHECK(judgeHead(leadsFill(), withBody) == TapVerdict::kPass);
  TapHead tooMany = redirect("GET");
  tooMany.mayRedirect = false;
  CHECK(judgeHead(leadsFill(), tooMany) == TapVerdict::kPass);
  // Without a fill, a redirect is the client's to follow.
  CHECK(judgeHead(TapIntent{}, redirect("GET")) == TapVerdict::kPass);
}

TEST_CASE("a candidate's GET revalidates with a HEAD whose answer is the cache's, never the "
          "client's") {
  TapIntent candidate = blobCandidate();
  CHECK(revalidates(candidate, "GET"));
  CHECK_FALSE(revalidates(candidate, "HEAD"));
  CHECK_FALSE(revalidates(TapIntent{}, "GET"));
  for (int status : {200, 401, 403, 404, 500}) {
    CHECK(judgeHead(candidate, answer("GET", status)) == TapVerdict::kConfirmation);
  }
  // The fill it may lead too waits for the verdict: the HEAD's answer has no body to store.
  TapIntent both = candidate;
  both.fill = true;
  CHECK(judgeHead(both, answer("GET", 200)) == TapVerdict::kConfirmation);
}

TEST_CASE("a blob's revalidating HEAD follows the registry to storage; a manifest's does not") {
  CHECK(judgeHead(blobCandidate(), redirect("GET")) == TapVerdict::kFollowRedirect);
  TapIntent manifest = blobCandidate();
  manifest.candidateIsBlob = false;
  CHECK(judgeHead(manifest, redirect("GET")) == TapVerdict::kConfirmation);
  TapHead tooMany = redirect("GET");
  tooMany.mayRedirect = false;
  CHECK(judgeHead(blobCandidate(), tooMany) == TapVerdict::kConfirmation);
}

TEST_CASE("once upstream refused the candidate, the GET goes as it is and may fill") {
  TapIntent refused = blobCandidate();
  refused.refused = true;
  refused.fill = true;
  CHECK_FALSE(revalidates(refused, "GET"));
  CHECK(judgeHead(refused, answer("GET", 200)) == TapVerdict::kFill);
  CHECK(judgeHead(refused, answer("GET", 403)) == TapVerdict::kPass);
}

TEST_CASE("only a candidate servable offline stands in for a failed upstream") {
  TapIntent candidate = blobCandidate();
  CHECK_FALSE(coversFailure(candidate));
  candidate.servableOffline = true;
  CHECK(coversFailure(candidate));
  candidate.refused = true; // a refusal does not take the stale copy away from an outage
  CHECK(coversFailure(candidate));
  TapIntent fillOnly = leadsFill();
  fillOnly.servableOffline = true;
  CHECK_FALSE(coversFailure(fillOnly));
}
