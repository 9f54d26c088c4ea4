#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include <sys/stat.h>

#include "proxy/forward/upstream_auth/credentials.h"
#include "proxy/forward/upstream_auth/token_cache.h"
#include "proxy/forward/upstream_auth/token_fetcher.h"
#include "proxy/forward/upstream_auth/token_response.h"

using namespace regcache;
using namespace regcache::proxy::upstream_auth;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {
struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device random;
    path = fs::temp_directory_path() / ("regcache-auth-" + std::to_string(random()));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path write(const std::string &name, const std::string &text, mode_t mode) const {
    fs::path file = path / name;
    std::ofstream(file) << text;
    ::chmod(file.c_str(), mode);
    return file;
  }
};
} // namespace

TEST_CASE("the upstream accounts file names one account per registry host", "[upstream_auth]") {
  TempDir dir;
  dir.write("hub.token", "dckr_pat_123\n", 0600);
  auto parsed = Credentials::parse(R"(# accounts
["registry-1.docker.io"]
username = "ci-bot"
token_file = "hub.token"

[Registry.Test:5000]
username = 'alice'
password = "s3cr\"et"
)",
                                   dir.path);
  REQUIRE(parsed.ok());
  CHECK(parsed->size() == 2);
  const Credential *hub = parsed->find("REGISTRY-1.docker.io");
  REQUIRE(hub != nullptr);
  CHECK(hub->username == "ci-bot");
  CHECK(hub->secret == "dckr_pat_123");
  const Credential *local = parsed->find("registry.test:5000");
  REQUIRE(local != nullptr);
  CHECK(local->secret == "s3cr\"et");
  CHECK(parsed->find("registry.test") == nullptr);
  CHECK(basicAuthorization(*local) == "Basic YWxpY2U6czNjciJldA==");
}

TEST_CASE("a malformed accounts file is refused with the line", "[upstream_auth]") {
  TempDir dir;
  for (const char *text :
       {"username = \"x\"\n", "[h]\nusername = x\n", "[h]\npassword = \"a\"\ntoken = \"b\"\n",
        "[h]\nusername = \"u\"\n", "[h]\nkey = \"v\"\n", "[]\n", "[h\n",
        "[h]\npassword = \"a\"\n[h]\npassword = \"b\"\n", "[h]\ntoken_file = \"missing\"\n"}) {
    INFO(text);
    auto parsed = Credentials::parse(text, dir.path);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.failure().detail.find("line") != std::string::npos);
  }
}

TEST_CASE("allow_http_realm is off unless an account says true", "[upstream_auth]") {
  TempDir dir;
  auto parsed = Credentials::parse("[a]\npassword = \"p\"\nallow_http_realm = true\n"
                                   "[b]\npassword = \"p\"\nallow_http_realm = false\n"
                                   "[c]\npassword = \"p\"\n",
                                   dir.path);
  REQUIRE(parsed.ok());
  CHECK(parsed->find("a")->allowHttpRealm);
  CHECK_FALSE(parsed->find("b")->allowHttpRealm);
  CHECK_FALSE(parsed->find("c")->allowHttpRealm);
  for (const char *bad :
       {"[a]\npassword = \"p\"\nallow_http_realm = \"true\"\n",
        "[a]\npassword = \"p\"\nallow_http_realm = yes\n", "allow_http_realm = true\n"}) {
    INFO(bad);
    CHECK_FALSE(Credentials::parse(bad, dir.path).ok());
  }
}

TEST_CASE("an accounts file others can read is refused", "[upstream_auth]") {
  TempDir dir;
  auto open = dir.write("auth.toml", "[h]\npassword = \"p\"\n", 0644);
  auto refused = Credentials::load(open);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.failure().detail.find("chmod 600") != std::string::npos);
  ::chmod(open.c_str(), 0600);
  CHECK(Credentials::load(open).ok());
}

TEST_CASE("token answers give the token and its lifetime", "[upstream_auth]") {
  auto hub = parseTokenResponse(
      R"({"token":"abc.def","access_token":"abc.def","expires_in":300,"issued_at":"2026-11-22T00:00:00Z"})");
  REQUIRE(hub);
  CHECK(hub->token == "abc.def");
  CHECK(hub->expiresIn == 300s);
  auto oauth = parseTokenResponse(R"({ "access_token" : "xyz" })");
  REQUIRE(oauth);
  CHECK(oauth->token == "xyz");
  CHECK(oauth->expiresIn == 60s);
  CHECK_FALSE(parseTokenResponse(R"({"token":""})"));
  CHECK_FALSE(parseTokenResponse(R"({"token":"unterminated)"));
  CHECK_FALSE(parseTokenResponse("<html>"));
}

TEST_CASE("the token URL carries service and the request's scope", "[upstream_auth]") {
  auto challenges = regcache::proxy::http::parseAuthChallenges(
      R"(Bearer realm="https://auth.example/token?x=1",service="reg istry",scope="repository:a:pull")");
  REQUIRE(challenges.size() == 1);
  auto url = TokenFetcher::tokenUrl(challenges[0], "repository:team/app:pull");
  REQUIRE(url.ok());
  CHECK(url->authority.host == "auth.example");
  CHECK(url->pathAndQuery == "/token?x=1&service=reg%20istry&scope=repository%3Ateam%2Fapp%3Apull");
  auto noRealm = regcache::proxy::http::parseAuthChallenges(R"(Bearer service="x")");
  CHECK_FALSE(TokenFetcher::tokenUrl(noRealm[0], "").ok());
}

TEST_CASE("tokens are kept per host and scope until shortly before they expire",
          "[upstream_auth]") {
  ManualClock clock(std::chrono::system_clock::time_point(1700000000s));
  TokenCache cache(clock);
  cache.put("r:443", "repository:a:pull", "Bearer t", 300s);
  CHECK(cache.find("r:443", "repository:a:pull") == "Bearer t");
  CHECK_FALSE(cache.find("r:443", "repository:b:pull"));
  CHECK_FALSE(cache.find("other:443", "repository:a:pull"));
  clock.advance(289s);
  CHECK(cache.find("r:443", "repository:a:pull"));
  clock.advance(1s);
  CHECK_FALSE(cache.find("r:443", "repository:a:pull"));
}

TEST_CASE("the scope of a request comes from its repository", "[upstream_auth]") {
  CHECK(scopeForPath("/v2/library/alpine/manifests/3.19") == "repository:library/alpine:pull");
  CHECK(scopeForPath("/v2/a/b/blobs/sha256:" + std::string(64, 'a')) == "repository:a/b:pull");
  CHECK(scopeForPath("/v2/team/app/tags/list?n=10") == "repository:team/app:pull");
  CHECK(scopeForPath("/v2/").empty());
  CHECK(scopeForPath("/other").empty());
}
