#include <catch2/catch.hpp>

#include "proxy/cache/revalidation.h"

using regcache::proxy::CacheCandidate;
using regcache::proxy::upstreamConfirms;
namespace http = regcache::proxy::http;

namespace {

const std::string kDigest = "sha256:" + std::string(64, 'a');
const std::string kOther = "sha256:" + std::string(64, 'b');

CacheCandidate blobCandidate() {
  CacheCandidate candidate;
  candidate.blob.digest = kDigest;
  candidate.blob.size = 1234;
  return candidate;
}

http::ResponseHead answer(int status, std::optional<std::string> digest,
                          std::optional<std::uint64_t> length = std::nullopt) {
  http::ResponseHead head;
  head.status = status;
  if (digest) head.headers.add("Docker-Content-Digest", *digest);
  head.contentLength = length;
  return head;
}

} // namespace

TEST_CASE("only upstream's 200 naming the cached digest, or none, confirms a blob",
          "[cache][revalidation]") {
  CacheCandidate candidate = blobCandidate();
  CHECK(upstreamConfirms(candidate, answer(200, kDigest), 0));
  CHECK(upstreamConfirms(candidate, answer(200, std::nullopt), 0));
  CHECK_FALSE(upstreamConfirms(candidate, answer(200, kOther), 0));
  // A 3xx may be an SSO gateway's way to a login page; a 401 or 404 is a no.
  CHECK_FALSE(upstreamConfirms(candidate, answer(302, kDigest), 0));
  CHECK_FALSE(upstreamConfirms(candidate, answer(401, kDigest), 0));
  CHECK_FALSE(upstreamConfirms(candidate, answer(404, std::nullopt), 0));
}

TEST_CASE("storage a blob's HEAD was redirected to confirms it by length alone",
          "[cache][revalidation]") {
  CacheCandidate candidate = blobCandidate();
  CHECK(upstreamConfirms(candidate, answer(200, std::nullopt, 1234), 1));
  CHECK_FALSE(upstreamConfirms(candidate, answer(200, std::nullopt, 1235), 1));
  CHECK_FALSE(upstreamConfirms(candidate, answer(200, std::nullopt), 1));
}

TEST_CASE("a tag is confirmed only when upstream names the cached digest",
          "[cache][revalidation]") {
  CacheCandidate candidate = blobCandidate();
  candidate.tag = regcache::cache::TagRecord{};
  CHECK(upstreamConfirms(candidate, answer(200, kDigest), 0));
  CHECK_FALSE(upstreamConfirms(candidate, answer(200, std::nullopt), 0));
  CHECK_FALSE(upstreamConfirms(candidate, answer(200, kOther), 0));
}
