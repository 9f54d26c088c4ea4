// Proxy passwords are hashed off the event loop: a burst of wrong logins (600 000 PBKDF2
// iterations each) does not stall the worker's other clients, and a client closing while its
// password is checked costs nothing.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <vector>

#include "base/base64.h"
#include "base/clock.h"
#include "proxy/access/proxy_users.h"
#include "proxy_fixture.h"
#include "raw_socket.h"
#include "scripted_upstream.h"

using namespace regcache::test;
using Steady = std::chrono::steady_clock;

namespace {

// 600 000 PBKDF2 iterations take a quarter of a second on a quiet core and many seconds on a
// loaded 2-core CI machine (one failed at 10 s with the load average at 16): this bounds the
// waits for an answer behind a password check; it measures nothing.
constexpr auto kPasswordCheckBound = std::chrono::milliseconds(60000);

std::string connectWith(const std::string &userAndSecret) {
  return "CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\nProxy-Authorization: Basic " +
         regcache::encodeBase64(userAndSecret) + "\r\n\r\n";
}

std::chrono::milliseconds since(Steady::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - start);
}

} // namespace

TEST_CASE("thirty-two parallel wrong passwords do not stall the worker's other clients",
          "[proxy_auth][integration]") {
  const std::string line = "alice:" + regcache::proxy::hashProxySecret("right", false) + "\n";
  auto path = std::filesystem::temp_directory_path() /
              ("regcache-bad-logins-" + std::to_string(::getpid()));
  std::ofstream(path) << line;
  ::chmod(path.c_str(), 0600);

  // What one wrong password costs to check, here and now.
  auto users = regcache::proxy::ProxyUsers::parse(line);
  REQUIRE(users.ok());
  auto hashStarted = Steady::now();
  REQUIRE_FALSE(users->authenticate("Basic " + regcache::encodeBase64("alice:calibrate"),
                                    regcache::SystemClock::instance()));
  auto oneHash = since(hashStarted);

  {
    ProxyFixture proxy([&](auto &o) {
      o.workers = 1; // every client on the same loop
      o.proxyAuthFile = path;
    });
    auto started = Steady::now();
    std::vector<RawSocket> attackers;
    for (int i = 0; i < 32; ++i) {
      attackers.push_back(RawSocket::connectTo(proxy.port(), "127.0.0.1"));
      attackers.back().sendAll(connectWith("alice:guess-" + std::to_string(i)));
    }
    // Another client gives up while its password is being checked: its session goes away
    // before the result comes back.
    {
      auto quitter = RawSocket::connectTo(proxy.port(), "127.0.0.3");
      quitter.sendAll(connectWith("alice:quitter"));
    }
    // Let the worker start on the logins (without the fix, it is inside PBKDF2 from here on).
    usleep(50 * 1000);

    auto bystander = RawSocket::connectTo(proxy.port(), "127.0.0.2");
    auto asked = Steady::now();
    bystander.sendAll("GET /healthz HTTP/1.1\r\nHost: proxy\r\n\r\n");
    std::string health = bystander.readResponse(30000ms);
    auto answeredIn = since(asked);
    CHECK(health.rfind("HTTP/1.1 200", 0) == 0);

    int refused = 0;
    for (auto &attacker : attackers) {
      std::string answer = attacker.readAll(60000ms);
      // 407 after a check, or 429 at once past the per-client bound; never in.
      if (answer.rfind("HTTP/1.1 407", 0) == 0 || answer.rfind("HTTP/1.1 429", 0) == 0) ++refused;
    }
    auto allRefusedIn = since(started);
    INFO("one hash " << oneHash.count() << " ms; /healthz answered in " << answeredIn.count()
                     << " ms; all 32 refused in " << allRefusedIn.count() << " ms");
    CHECK(refused == 32);
    // With the hash on the loop, /healthz waits behind every login read before it: 32 hashes.
    CHECK(answeredIn < oneHash);
    CHECK(answeredIn < allRefusedIn);

    // The worker is still well, the quitter's late result dropped.
    auto after = RawSocket::connectTo(proxy.port(), "127.0.0.2");
    after.sendAll("GET /healthz HTTP/1.1\r\nHost: proxy\r\n\r\n");
    CHECK(after.readResponse(kPasswordCheckBound).rfind("HTTP/1.1 200", 0) == 0);
  }
  std::filesystem::remove(path);
}

TEST_CASE("a right password proves its user after the off-loop check; the body waits, intact",
          "[proxy_auth][integration]") {
  const std::string line = "alice:" + regcache::proxy::hashProxySecret("right", false) + "\n";
  auto path = std::filesystem::temp_directory_path() /
              ("regcache-good-login-" + std::to_string(::getpid()));
  std::ofstream(path) << line;
  ::chmod(path.c_str(), 0600);
  {
    ScriptedUpstream upstream(
        [](const RecordedRequest &, UpstreamReply &reply) { reply.send(okResponse("upstream")); });
    ProxyFixture proxy([&](auto &o) { o.proxyAuthFile = path; });
    std::string target = "127.0.0.1:" + std::to_string(upstream.port());
    std::string credentials =
        "Proxy-Authorization: Basic " + regcache::encodeBase64("alice:right") + "\r\n";
    // First a forwarded request with a body: hashed on the pool while the body waits.
    auto client = RawSocket::connectTo(proxy.port());
    client.sendAll("POST http://" + target + "/x HTTP/1.1\r\nHost: " + target + "\r\n" +
                   credentials + "Content-Length: 5\r\n\r\nhello");
    CHECK(client.readResponse(kPasswordCheckBound).rfind("HTTP/1.1 200", 0) == 0);
    REQUIRE(upstream.requests().size() == 1);
    CHECK(upstream.requests()[0].body == "hello");
    // Then a CONNECT with the same header: from the memo of verified headers.
    auto tunnel = RawSocket::connectTo(proxy.port());
    tunnel.sendAll("CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n" + credentials +
                   "\r\n");
    std::string established = tunnel.readUntil(
        [](const std::string &s) { return s.find("\r\n\r\n") != std::string::npos; },
        kPasswordCheckBound);
    CHECK(established.rfind("HTTP/1.1 200", 0) == 0);
  }
  std::filesystem::remove(path);
}

TEST_CASE("a CONNECT waits for its password check, then tunnels", "[proxy_auth][integration]") {
  const std::string line = "bob:" + regcache::proxy::hashProxySecret("pw", false) + "\n";
  auto path = std::filesystem::temp_directory_path() /
              ("regcache-connect-login-" + std::to_string(::getpid()));
  std::ofstream(path) << line;
  ::chmod(path.c_str(), 0600);
  {
    ScriptedUpstream upstream(
        [](const RecordedRequest &, UpstreamReply &reply) { reply.send(okResponse("upstream")); });
    ProxyFixture proxy([&](auto &o) {
      o.proxyAuthFile = path;
      o.tunnelPatterns = {"*"};
    });
    std::string target = "127.0.0.1:" + std::to_string(upstream.port());
    auto tunnel = RawSocket::connectTo(proxy.port());
    tunnel.sendAll("CONNECT " + target + " HTTP/1.1\r\nHost: " + target +
                   "\r\nProxy-Authorization: Basic " + regcache::encodeBase64("bob:pw") +
                   "\r\n\r\n");
    std::string established = tunnel.readUntil(
        [](const std::string &s) { return s.find("\r\n\r\n") != std::string::npos; },
        kPasswordCheckBound);
    REQUIRE(established.rfind("HTTP/1.1 200", 0) == 0);
    tunnel.sendAll("GET /through HTTP/1.1\r\nHost: " + target + "\r\n\r\n");
    std::string answer = tunnel.readResponse(kPasswordCheckBound);
    CHECK(answer.find("upstream") != std::string::npos);
  }
  std::filesystem::remove(path);
}
