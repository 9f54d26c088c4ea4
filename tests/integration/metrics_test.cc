// /metrics as Prometheus reads it: latency histograms, units in names, and regcache_build_info.
#include <catch2/catch.hpp>

#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "base/oci/digest.h"
#include "base/sha256.h"
#include "proxy_fixture.h"
#include "raw_socket.h"
#include "scripted_upstream.h"

using namespace regcache::test;

namespace {

const std::string kBlob = std::string(50000, 'm') + "end";
const std::string kDigest = "sha256:" + regcache::sha256Hex(kBlob);

std::string blobGet(uint16_t port) {
  return "GET http://127.0.0.1:" + std::to_string(port) + "/v2/library/test/blobs/" + kDigest +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
}

std::string body(const std::string &response) {
  return response.substr(response.find("\r\n\r\n") + 4);
}

// Sample lines of the exposition: "name{labels}" -> value. Fails the test on a line that is no
// comment and no sample, or on a sample whose family has no # TYPE.
std::map<std::string, double> parseExposition(const std::string &text) {
  static const std::regex sample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$)");
  static const std::regex type(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$)");
  std::map<std::string, double> samples;
  std::set<std::string> typed;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::smatch m;
    if (std::regex_match(line, m, type)) {
      typed.insert(m[1]);
      continue;
    }
    if (line.rfind("# HELP ", 0) == 0) continue;
    INFO(line);
    REQUIRE(std::regex_match(line, m, sample));
    std::string family = m[1];
    for (const char *suffix : {"_bucket", "_sum", "_count"}) {
      std::string s = suffix;
      if (!typed.count(family) && family.size() > s.size() &&
          family.compare(family.size() - s.size(), s.size(), s) == 0) {
        family.resize(family.size() - s.size());
      }
    }
    CHECK(typed.count(family) == 1);
    samples[std::string(m[1]) + std::string(m[2])] = std::stod(m[3]);
  }
  return samples;
}

} // namespace

TEST_CASE("/metrics has request-duration histograms by route and outcome, and upstream's time "
          "to first byte",
          "[metrics][integration]") {
  // Upstream waits 300 ms before its head: the miss lands in the 0.5 s bucket, the hit well below.
  ScriptedUpstream upstream([](const RecordedRequest &, UpstreamReply &reply) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    reply.send(okResponse(kBlob, "Content-Type: application/octet-stream\r\n"
                                 "Docker-Content-Digest: " +
                                     kDigest + "\r\n"));
  });
  ProxyFixture proxy([](auto &o) { o.build = {"9.8.7", "v9.8.7-3-gabcdef", "Release"}; });
  auto client = RawSocket::connectTo(proxy.port());
  for (int i = 0; i < 2; ++i) {
    client.sendAll(blobGet(upstream.port()));
    REQUIRE(body(client.readResponse()) == kBlob);
  }
  client.sendAll("GET /metrics HTTP/1.1\r\nHost: proxy\r\n\r\n");
  std::string response = client.readResponse();
  REQUIRE(response.rfind("HTTP/1.1 200", 0) == 0);
  std::string text = body(response);
  INFO(text);
  auto samples = parseExposition(text);

  const std::string miss =
      "regcache_request_duration_seconds_bucket{route=\"blob\",outcome=\"miss\",";
  // One observation each: its bucket follows from its own duration (the sum), so a loaded
  // machine that makes the miss take longer than 0.5 s moves it to a later bucket, as it should.
  const double missSeconds =
      samples.at("regcache_request_duration_seconds_sum{route=\"blob\",outcome=\"miss\"}");
  CHECK(missSeconds >= 0.3);
  CHECK(samples.at(miss + "le=\"0.25\"}") == 0);
  CHECK(samples.at(miss + "le=\"0.5\"}") == (missSeconds <= 0.5 ? 1 : 0));
  CHECK(samples.at(miss + "le=\"+Inf\"}") == 1);
  CHECK(samples.at("regcache_request_duration_seconds_count{route=\"blob\",outcome=\"miss\"}") ==
        1);
  const std::string hit =
      "regcache_request_duration_seconds_bucket{route=\"blob\",outcome=\"hit\",";
  const double hitSeconds =
      samples.at("regcache_request_duration_seconds_sum{route=\"blob\",outcome=\"hit\"}");
  CHECK(hitSeconds < missSeconds);
  CHECK(samples.at(hit + "le=\"0.25\"}") == (hitSeconds <= 0.25 ? 1 : 0));
  CHECK(samples.at(hit + "le=\"+Inf\"}") == 1);
  CHECK(samples.at("regcache_request_duration_seconds_count{route=\"blob\",outcome=\"hit\"}") == 1);
  // Label sets that saw no request stay out of the scrape.
  CHECK(samples.count(
            "regcache_request_duration_seconds_count{route=\"tunnel\",outcome=\"pass\"}") == 0);

  const double firstByteSeconds = samples.at("regcache_upstream_first_byte_seconds_sum");
  CHECK(firstByteSeconds >= 0.3);
  CHECK(samples.at("regcache_upstream_first_byte_seconds_bucket{le=\"0.25\"}") == 0);
  CHECK(samples.at("regcache_upstream_first_byte_seconds_bucket{le=\"0.5\"}") ==
        (firstByteSeconds <= 0.5 ? 1 : 0));
  CHECK(samples.at("regcache_upstream_first_byte_seconds_count") == 1);

  CHECK(samples.at("regcache_build_info{version=\"9.8.7\",git=\"v9.8.7-3-gabcdef\","
                   "build_type=\"Release\"}") == 1);
  CHECK(samples.at("regcache_start_time_seconds") > 1.7e9);
  // Units in the names: bytes and seconds, counters end in _total.
  CHECK(samples.count("regcache_served_bytes_total{source=\"cache\"}") == 1);
  CHECK(text.find("# TYPE regcache_cache_bytes gauge") != std::string::npos);
}
