#include <catch2/catch.hpp>

#include <thread>

#include "base/clock.h"
#include "ca/authority.h"
#include "proxy_fixture.h"
#include "raw_socket.h"

using namespace regcache::test;

namespace {
std::string fetchBundle(uint16_t port) {
  auto client = RawSocket::connectTo(port);
  client.sendAll("GET /ca.crt HTTP/1.1\r\nHost: proxy\r\n\r\n");
  return client.readResponse();
}
std::size_t countCerts(const std::string &text) {
  std::size_t n = 0;
  for (auto pos = text.find("BEGIN CERTIFICATE"); pos != std::string::npos;
       pos = text.find("BEGIN CERTIFICATE", pos + 1)) {
    ++n;
  }
  return n;
}
} // namespace

TEST_CASE("a running server follows a rotation made by another process", "[ca][integration]") {
  ProxyFixture proxy([](auto &o) { o.caCheckInterval = std::chrono::milliseconds(100); });
  std::string before = fetchBundle(proxy.port());
  REQUIRE(countCerts(before) == 1);
  REQUIRE(before.find("Last-Modified: ") != std::string::npos);

  regcache::ca::RotateOptions rotate;
  rotate.overlap = std::chrono::hours(1);
  REQUIRE(regcache::ca::Authority::rotate(proxy.dataDir() / "ca", regcache::SystemClock::instance(),
                                          rotate)
              .ok());
  std::string after;
  for (int i = 0; i < 50 && countCerts(after) != 2; ++i) { // at most 5 s
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    after = fetchBundle(proxy.port());
  }
  CHECK(countCerts(after) == 2);
  auto etag = [](const std::string &r) {
    auto pos = r.find("ETag: ");
    return r.substr(pos, r.find("\r\n", pos) - pos);
  };
  CHECK(etag(after) != etag(before));
}
