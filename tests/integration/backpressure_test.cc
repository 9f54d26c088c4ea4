#include <catch2/catch.hpp>

#include <thread>

#include "proxy_fixture.h"
#include "raw_socket.h"
#include "scripted_upstream.h"

using namespace regcache::test;

TEST_CASE("a client that stops reading stalls the upstream instead of filling memory",
          "[backpressure]") {
  constexpr std::uint64_t kBody = 96ull << 20; // far more than every socket buffer on the path
  ScriptedUpstream upstream([](const RecordedRequest &, UpstreamReply &reply) {
    if (!reply.send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(kBody) + "\r\n\r\n")) {
      return;
    }
    std::string chunk(1 << 20, 'z');
    for (std::uint64_t sent = 0; sent < kBody; sent += chunk.size()) {
      if (!reply.send(chunk)) return;
    }
  });
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll("GET http://127.0.0.1:" + std::to_string(upstream.port()) +
                 "/big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");

  // The client reads nothing. Wait until the upstream's progress stops.
  std::uint64_t before = 0;
  for (int i = 0; i < 50; ++i) { // at most 5 s
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::uint64_t now = upstream.bytesSent();
    if (now == before && now > 0) break;
    before = now;
  }
  // Kernel socket buffers on loopback hold at most a few tens of MiB across both hops; the
  // proxy itself may hold about one high watermark.
  CHECK(upstream.bytesSent() < 48ull << 20);

  // Reading resumes the flow, and every byte arrives.
  std::uint64_t received = 0;
  std::string data = client.readUntil(
      [&](const std::string &s) {
        auto headEnd = s.find("\r\n\r\n");
        return headEnd != std::string::npos && s.size() - headEnd - 4 >= kBody;
      },
      std::chrono::milliseconds(30000));
  received = data.size() - data.find("\r\n\r\n") - 4;
  CHECK(received == kBody);
}
