#include <catch2/catch.hpp>

#include "proxy/http/headers.h"

using namespace regcache::proxy::http;

TEST_CASE("header lookups ignore case and keep the first value", "[http][headers]") {
  Headers h;
  h.add("Content-Type", "a");
  h.add("content-type", "b");
  CHECK(h.get("CONTENT-TYPE") == "a");
  CHECK(h.has("content-TYPE"));
  CHECK_FALSE(h.has("Content-Length"));
  h.set("Content-Type", "c");
  CHECK(h.size() == 1);
  CHECK(h.get("content-type") == "c");
  CHECK(h.remove("CONTENT-type") == 1);
  CHECK(h.size() == 0);
}

TEST_CASE("hasToken reads comma-separated lists across repeated fields", "[http][headers]") {
  Headers h;
  h.add("Connection", "keep-alive , Upgrade");
  h.add("Connection", "X-Foo");
  CHECK(h.hasToken("connection", "upgrade"));
  CHECK(h.hasToken("Connection", "x-foo"));
  CHECK_FALSE(h.hasToken("Connection", "close"));
  CHECK_FALSE(h.hasToken("Connection", "keep"));
}

TEST_CASE("hop-by-hop headers go, including those named in Connection", "[http][headers]") {
  Headers h;
  h.add("Host", "registry.test");
  h.add("Connection", "keep-alive, X-Private");
  h.add("X-Private", "secret");
  h.add("Keep-Alive", "timeout=5");
  h.add("Proxy-Connection", "keep-alive");
  h.add("Proxy-Authorization", "Basic Zm9v");
  h.add("TE", "trailers");
  h.add("Transfer-Encoding", "chunked");
  h.add("Upgrade", "h2c");
  h.add("Authorization", "Bearer token");
  h.add("Docker-Content-Digest", "sha256:ab");
  stripHopByHop(h);
  CHECK(h.size() == 3);
  CHECK(h.get("Host") == "registry.test");
  CHECK(h.get("Authorization") == "Bearer token");
  CHECK(h.get("Docker-Content-Digest") == "sha256:ab");
}

TEST_CASE("Connection cannot declare framing, Host or other end-to-end fields hop-by-hop",
          "[http][headers]") {
  Headers h;
  h.add("Host", "registry.test");
  h.add("Connection", "Content-Length, host, Transfer-Encoding, Authorization, X-Hop");
  h.add("Content-Length", "12");
  h.add("Authorization", "Bearer t");
  h.add("Docker-Content-Digest", "sha256:ab");
  h.add("X-Hop", "1");
  h.add("Connection", "docker-content-digest");
  stripHopByHop(h);
  CHECK(h.get("Host") == "registry.test");
  CHECK(h.get("Content-Length") == "12");
  CHECK(h.get("Authorization") == "Bearer t");
  CHECK(h.get("Docker-Content-Digest") == "sha256:ab");
  CHECK_FALSE(h.has("X-Hop"));
  CHECK_FALSE(h.has("Connection"));
  CHECK(isEndToEndField("content-length"));
  CHECK_FALSE(isEndToEndField("X-Hop"));
}
