#include <catch2/catch.hpp>

#include "proxy/observe/access_log.h"
#include "proxy/observe/metrics.h"

using namespace regcache::proxy;

namespace {
const std::string kBlobPath = "/v2/library/alpine/blobs/sha256:"
                              "0000000000000000000000000000000000000000000000000000000000000000";
}

TEST_CASE("requests are labelled by registry route", "[metrics]") {
  CHECK(routeLabelOf("GET", "registry:443", kBlobPath) == RouteLabel::kBlob);
  CHECK(routeLabelOf("HEAD", "registry:443", "/v2/a/b/c/manifests/latest?x=1") ==
        RouteLabel::kManifest);
  CHECK(routeLabelOf("GET", "registry:443", "/v2/") == RouteLabel::kOther);
  CHECK(routeLabelOf("GET", "registry:443", "/v2/a/blobs/sha256:short") == RouteLabel::kOther);
  CHECK(routeLabelOf("GET", "registry:5000", "http://registry:5000" + kBlobPath) ==
        RouteLabel::kBlob);
  CHECK(routeLabelOf("CONNECT", "registry:443", "-") == RouteLabel::kTunnel);
  CHECK(routeLabelOf("GET", "-", "/metrics") == RouteLabel::kAdmin);
}

TEST_CASE("the cache label and status give the outcome", "[metrics]") {
  CHECK(outcomeOf("HIT", 200) == Outcome::kHit);
  CHECK(outcomeOf("STALE", 200) == Outcome::kStale);
  CHECK(outcomeOf("REVALIDATED", 200) == Outcome::kRevalidated);
  CHECK(outcomeOf("COALESCED", 200) == Outcome::kCoalesced);
  CHECK(outcomeOf("MISS", 200) == Outcome::kMiss);
  CHECK(outcomeOf("", 404) == Outcome::kPass);
  CHECK(outcomeOf("", 502) == Outcome::kError);
  CHECK(outcomeOf("", 0) == Outcome::kError);
}

TEST_CASE("totals count disk answers as hits and split bytes by source", "[metrics]") {
  Metrics metrics;
  metrics.countRequest(RouteLabel::kBlob, Outcome::kMiss, 100, false);
  metrics.countRequest(RouteLabel::kBlob, Outcome::kHit, 100, true);
  metrics.countRequest(RouteLabel::kManifest, Outcome::kStale, 10, true);
  metrics.countRequest(RouteLabel::kBlob, Outcome::kCoalesced, 100, true);
  metrics.countRequest(RouteLabel::kOther, Outcome::kPass, 7, false);
  PersistentTotals totals = metrics.totals();
  CHECK(totals.cacheHits == 3);
  CHECK(totals.cacheMisses == 1);
  CHECK(totals.bytesFromCache == 210);
  CHECK(totals.bytesFromUpstream == 107);
  CHECK(metrics.requests(RouteLabel::kBlob, Outcome::kHit) == 1);
}

TEST_CASE("the Prometheus text has every family and only non-zero request series", "[metrics]") {
  Metrics metrics;
  metrics.countRequest(RouteLabel::kBlob, Outcome::kHit, 42, true);
  metrics.countUpstreamError(UpstreamError::kStatus429);
  metrics.noteRateLimit("registry-1.docker.io:443", "76;w=21600");
  metrics.noteRateLimit("other:443", "not a number");
  std::string text = metrics.renderPrometheus();
  CHECK(text.find("regcache_requests_total{route=\"blob\",outcome=\"hit\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("outcome=\"miss\"") == std::string::npos);
  CHECK(text.find("regcache_served_bytes_total{source=\"cache\"} 42\n") != std::string::npos);
  CHECK(text.find("regcache_upstream_errors_total{kind=\"status_429\"} 1\n") != std::string::npos);
  CHECK(text.find("regcache_upstream_ratelimit_remaining{registry=\"registry-1.docker.io:443\"} "
                  "76\n") != std::string::npos);
  CHECK(text.find("other:443") == std::string::npos);
  CHECK(text.find("# TYPE regcache_fills_in_flight gauge\n") != std::string::npos);
}

TEST_CASE("a fill hold raises the gauge for as long as it lives", "[metrics]") {
  Metrics metrics;
  {
    auto first = metrics.holdFill();
    Metrics::FillHold second = metrics.holdFill();
    CHECK(metrics.fillsInFlight() == 2);
    Metrics::FillHold moved = std::move(second);
    CHECK(metrics.fillsInFlight() == 2);
    first.release();
    CHECK(metrics.fillsInFlight() == 1);
  }
  CHECK(metrics.fillsInFlight() == 0);
}

TEST_CASE("label values past the limit fold into other", "[metrics]") {
  Metrics metrics;
  metrics.limitLabelValues(2);
  for (const char *registry : {"a.test", "b.test", "c.test", "d.test", "a.test"})
    metrics.noteRateLimit(registry, "7;w=21600");
  for (const char *user : {"-", "alice", "bob", "carol", "alice"})
    metrics.countUser(user);
  std::string text = metrics.renderPrometheus();
  INFO(text);
  CHECK(text.find("registry=\"a.test\"} 7\n") != std::string::npos);
  CHECK(text.find("registry=\"b.test\"} 7\n") != std::string::npos);
  CHECK(text.find("c.test") == std::string::npos);
  CHECK(text.find("d.test") == std::string::npos);
  CHECK(text.find("registry=\"other\"} 7\n") != std::string::npos);
  CHECK(text.find("user=\"alice\"} 2\n") != std::string::npos);
  CHECK(text.find("user=\"other\"} 2\n") != std::string::npos);
  CHECK(text.find("bob") == std::string::npos);
}

TEST_CASE("a latency histogram renders cumulative buckets, a sum and a count", "[metrics]") {
  LatencyHistogram histogram;
  std::string none;
  histogram.render(none, "x_seconds", "");
  CHECK(none.empty());
  histogram.observe(std::chrono::milliseconds(3));
  histogram.observe(std::chrono::milliseconds(700));
  histogram.observe(std::chrono::seconds(400));
  histogram.observe(std::chrono::microseconds(-5)); // a clock step: counted as 0
  std::string out;
  histogram.render(out, "x_seconds", "route=\"blob\"");
  INFO(out);
  CHECK(out.find("x_seconds_bucket{route=\"blob\",le=\"0.005\"} 2\n") != std::string::npos);
  CHECK(out.find("x_seconds_bucket{route=\"blob\",le=\"0.5\"} 2\n") != std::string::npos);
  CHECK(out.find("x_seconds_bucket{route=\"blob\",le=\"1\"} 3\n") != std::string::npos);
  CHECK(out.find("x_seconds_bucket{route=\"blob\",le=\"300\"} 3\n") != std::string::npos);
  CHECK(out.find("x_seconds_bucket{route=\"blob\",le=\"+Inf\"} 4\n") != std::string::npos);
  CHECK(out.find("x_seconds_sum{route=\"blob\"} 400.703000\n") != std::string::npos);
  CHECK(out.find("x_seconds_count{route=\"blob\"} 4\n") != std::string::npos);
}

TEST_CASE("a JSON access line escapes what clients send and says null for what is missing",
          "[access-log]") {
  AccessRecord record;
  record.connection = "[c7]";
  record.client = "127.0.0.1:5000";
  record.method = "GET";
  record.host = "registry:443";
  record.path = "/v2/\"x\"\n\\\x01\xff";
  record.status = 200;
  record.bytesSent = 12;
  std::chrono::system_clock::time_point at{std::chrono::milliseconds(1796133600123)};
  std::string line = accessLineJson(record, at, std::chrono::microseconds(41260));
  CHECK(line == "{\"time\":\"2026-12-01T14:00:00.123Z\",\"connection\":\"c7\",\"client\":"
                "\"127.0.0.1:5000\",\"user\":\"-\",\"method\":\"GET\",\"host\":\"registry:443\","
                "\"path\":\"/v2/\\\"x\\\"\\u000a\\\\\\u0001\\u00ff\",\"status\":200,\"bytes\":12,"
                "\"duration_ms\":41.3,\"cache\":null,\"upstream_status\":null,\"note\":null}");
  record.cache = "MISS";
  record.upstreamStatus = 200;
  line = accessLineJson(record, at, std::chrono::microseconds(0));
  CHECK(line.find("\"cache\":\"MISS\",\"upstream_status\":200,") != std::string::npos);
}
