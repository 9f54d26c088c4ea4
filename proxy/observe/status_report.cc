#include "proxy/observe/status_report.h"

#include <spdlog/fmt/fmt.h>

#include "base/json_text.h"
#include "base/time_format.h"
#include "ca/authority.h"
#include "ca/leaf_cache.h"
#include "cache/evictor.h"
#include "cache/fill_registry.h"
#include "cache/index_view.h"
#include "proxy/observe/metrics.h"

namespace regcache::proxy {

bool isDockerHub(const std::string &registry) {
  std::string host = registry.substr(
      0, registry.rfind(':') == std::string::npos ? registry.size() : registry.rfind(':'));
  return host == "registry-1.docker.io" || host == "docker.io" || host == "index.docker.io";
}

StatusReport gatherStatus(const StatusSources &sources, std::chrono::system_clock::time_point now) {
  const cache::IndexView *index = sources.index;
  StatusReport r;
  r.now = now;
  r.startedAt = sources.metrics.startedAt();
  r.build = sources.metrics.buildIdentity();
  std::uint64_t evictedBlobs = sources.evictor ? sources.evictor->evictedBlobs() : 0;
  std::uint64_t evictedBytes = sources.evictor ? sources.evictor->evictedBytes() : 0;
  r.sinceStart = sampleOf(sources.metrics, now, evictedBlobs, evictedBytes);
  sources.history.record(r.sinceStart);
  auto samples = sources.history.samples();
  // An hour ago: the oldest sample at most an hour old (samples start at start-up).
  const CounterSample *hourAgo = nullptr;
  for (const auto &s : samples) {
    if (now - s.at <= std::chrono::minutes(60)) {
      hourAgo = &s;
      break;
    }
  }
  r.lastHour = hourAgo ? difference(r.sinceStart, *hourAgo) : r.sinceStart;
  for (std::size_t i = 1; i < samples.size(); ++i) {
    r.perMinute.push_back(difference(samples[i], samples[i - 1]));
  }
  if (!samples.empty()) r.perMinute.push_back(difference(r.sinceStart, samples.back()));

  r.registries = sources.metrics.pulls().registries();
  for (const auto &reg : r.registries) {
    if (isDockerHub(reg.registry)) r.dockerHubPullsSaved += reg.pullsSaved;
  }
  r.topByPulls = sources.metrics.pulls().topByPulls(10);
  r.topByBytes = sources.metrics.pulls().topByBytes(10);

  if (sources.fills != nullptr) {
    auto steadyNow = std::chrono::steady_clock::now();
    for (const auto &fill : sources.fills->snapshot()) {
      FillStatus f;
      // The registry's key is "<registry> blob|manifest <digest>[ <credential key>]": the
      // credential's part stays out of the page.
      f.registry = fill.digest.substr(0, fill.digest.find(' '));
      if (f.registry.rfind("http://", 0) == 0) f.registry.erase(0, 7); // as the access log has it
      auto at = fill.digest.find("sha256:");
      f.digest = at == std::string::npos ? "?" : fill.digest.substr(at, 71);
      f.written = fill.written;
      f.size = fill.size;
      f.readers = fill.readers;
      auto micros =
          std::chrono::duration_cast<std::chrono::microseconds>(steadyNow - fill.startedAt).count();
      if (micros > 0) {
        f.bytesPerSecond = static_cast<std::uint64_t>(static_cast<double>(fill.written) * 1e6 /
                                                      static_cast<double>(micros));
      }
      r.fills.push_back(std::move(f));
    }
  }

  if (auto authority = sources.leaves.authority()) {
    for (const auto &generation : authority->generations()) {
      r.caGenerations.push_back({generation.times.number, ca::stateName(generation.state),
                                 generation.times.activateAt, generation.times.retireAt});
    }
    r.nextCaTransition = authority->nextTransition();
  }

  r.cacheEnabled = sources.cacheEnabled;
  if (index != nullptr) {
    cache::CacheTotals totals = index->totals();
    r.cacheBytes = totals.bytes;
    r.cacheBlobs = totals.blobs;
  }
  r.cacheLimit = sources.evictor ? sources.evictor->limit() : 0;
  return r;
}

std::string humanBytes(std::uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  const char *units[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes) / 1024;
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, units[unit]);
}

std::string hitRatioText(std::uint64_t hits, std::uint64_t misses) {
  if (hits + misses == 0) return "-";
  return fmt::format("{:.1f}%",
                     100.0 * static_cast<double>(hits) / static_cast<double>(hits + misses));
}

namespace {

std::string utc(std::chrono::system_clock::time_point at) {
  return jsonText(formatUtcTime(at, "%Y-%m-%dT%H:%M:%SZ"));
}

std::int64_t unixSeconds(std::chrono::system_clock::time_point at) {
  return std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count();
}

std::string countersJson(const CounterSample &s) {
  std::string out = fmt::format(
      "{{\"hits\":{},\"misses\":{},\"bytes_from_cache\":{},\"bytes_from_upstream\":{},"
      "\"evicted_blobs\":{},\"evicted_bytes\":{},\"upstream_errors\":{{",
      s.hits, s.misses, s.bytesFromCache, s.bytesFromUpstream, s.evictedBlobs, s.evictedBytes);
  for (std::size_t k = 0; k < s.upstreamErrors.size(); ++k) {
    out += fmt::format("{}{}:{}", k == 0 ? "" : ",",
                       jsonText(labelOf(static_cast<UpstreamError>(k))), s.upstreamErrors[k]);
  }
  return out + "}}";
}

std::string repositoriesJson(const std::vector<RepositoryPulls> &repos) {
  std::string out = "[";
  for (std::size_t i = 0; i < repos.size(); ++i) {
    out += fmt::format("{}{{\"repository\":{},\"pulls\":{},\"bytes\":{}}}", i == 0 ? "" : ",",
                       jsonText(repos[i].name), repos[i].pulls, repos[i].bytes);
  }
  return out + "]";
}

} // namespace

std::string renderStatusJson(const StatusReport &r) {
  std::string out = "{";
  out += fmt::format("\"generated_at\":{},\"started_at\":{},\"uptime_seconds\":{},", utc(r.now),
                     utc(r.startedAt), unixSeconds(r.now) - unixSeconds(r.startedAt));
  out += fmt::format("\"build\":{{\"version\":{},\"git\":{},\"build_type\":{}}},",
                     jsonText(r.build.version), jsonText(r.build.git), jsonText(r.build.buildType));
  out += "\"since_start\":" + countersJson(r.sinceStart) + ",";
  out += "\"last_hour\":" + countersJson(r.lastHour) + ",";
  out += "\"per_minute\":[";
  for (std::size_t i = 0; i < r.perMinute.size(); ++i) {
    const auto &m = r.perMinute[i];
    out += fmt::format("{}{{\"at\":{},\"hits\":{},\"misses\":{},\"bytes_from_cache\":{},"
                       "\"bytes_from_upstream\":{}}}",
                       i == 0 ? "" : ",", unixSeconds(m.at), m.hits, m.misses, m.bytesFromCache,
                       m.bytesFromUpstream);
  }
  out += "],";
  out += fmt::format("\"docker_hub_pulls_saved\":{},\"registries\":[", r.dockerHubPullsSaved);
  for (std::size_t i = 0; i < r.registries.size(); ++i) {
    const auto &reg = r.registries[i];
    out += fmt::format("{}{{\"registry\":{},\"pulls\":{},\"pulls_saved\":{},"
                       "\"ratelimit_remaining\":{},\"ratelimit_seen_at\":{}}}",
                       i == 0 ? "" : ",", jsonText(reg.registry), reg.pulls, reg.pullsSaved,
                       reg.rateLimitRemaining ? std::to_string(*reg.rateLimitRemaining) : "null",
                       reg.rateLimitRemaining ? utc(reg.rateLimitSeenAt) : "null");
  }
  out += "],";
  out += "\"top_by_pulls\":" + repositoriesJson(r.topByPulls) + ",";
  out += "\"top_by_bytes\":" + repositoriesJson(r.topByBytes) + ",";
  out += "\"fills\":[";
  for (std::size_t i = 0; i < r.fills.size(); ++i) {
    const auto &f = r.fills[i];
    out += fmt::format("{}{{\"registry\":{},\"digest\":{},\"written_bytes\":{},"
                       "\"size_bytes\":{},\"bytes_per_second\":{},\"readers\":{}}}",
                       i == 0 ? "" : ",", jsonText(f.registry), jsonText(f.digest), f.written,
                       f.size, f.bytesPerSecond, f.readers);
  }
  out += "],\"ca\":{\"generations\":[";
  for (std::size_t i = 0; i < r.caGenerations.size(); ++i) {
    const auto &g = r.caGenerations[i];
    out += fmt::format("{}{{\"number\":{},\"state\":{},\"activate_at\":{},\"retire_at\":{}}}",
                       i == 0 ? "" : ",", g.number, jsonText(g.state), utc(g.activateAt),
                       g.retireAt ? utc(*g.retireAt) : "null");
  }
  out += fmt::format("],\"next_transition\":{}}},",
                     r.nextCaTransition ? utc(*r.nextCaTransition) : "null");
  out += fmt::format("\"cache\":{{\"enabled\":{},\"bytes\":{},\"blobs\":{},\"limit_bytes\":{}}}",
                     r.cacheEnabled ? "true" : "false", r.cacheBytes, r.cacheBlobs, r.cacheLimit);
  return out + "}\n";
}

} // namespace regcache::proxy
