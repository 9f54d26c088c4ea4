#pragma once
// What the status page shows, gathered once per request: GET /status.json serves it as JSON and
// GET / renders the same report as HTML, so the two always agree.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "proxy/build_identity.h"
#include "proxy/observe/pull_stats.h"
#include "proxy/observe/status_history.h"

namespace regcache::ca {
class LeafCache;
}
namespace regcache::cache {
class Evictor;
class FillRegistry;
class IndexView;
} // namespace regcache::cache

namespace regcache::proxy {

class Metrics;

// Where the report's figures come from (HandlerServices::statusSources()).
struct StatusSources {
  Metrics &metrics;
  StatusHistory &history;
  ca::LeafCache &leaves;
  bool cacheEnabled = false;
  const cache::IndexView *index = nullptr;    // null: no cache
  const cache::FillRegistry *fills = nullptr; // null: no cache
  const cache::Evictor *evictor = nullptr;    // null: no cache
};

struct FillStatus {
  std::string registry; // host[:port]
  std::string digest;   // "sha256:..."
  std::uint64_t written = 0;
  std::uint64_t size = 0; // 0: not announced yet
  std::uint64_t bytesPerSecond = 0;
  long readers = 0;
};

struct CaGenerationStatus {
  int number = 0;
  std::string state; // "next", "active", "retiring", "retired"
  std::chrono::system_clock::time_point activateAt;
  std::optional<std::chrono::system_clock::time_point> retireAt;
};

struct StatusReport {
  std::chrono::system_clock::time_point now;
  std::chrono::system_clock::time_point startedAt;
  BuildIdentity build;
  CounterSample sinceStart;             // the counters now, since the process started
  CounterSample lastHour;               // the counters now minus an hour ago (or since start)
  std::vector<CounterSample> perMinute; // oldest first; the last one is the minute under way
  std::vector<RegistryPulls> registries;
  std::uint64_t dockerHubPullsSaved = 0;
  std::vector<RepositoryPulls> topByPulls;
  std::vector<RepositoryPulls> topByBytes;
  std::vector<FillStatus> fills;
  std::vector<CaGenerationStatus> caGenerations;
  std::optional<std::chrono::system_clock::time_point> nextCaTransition;
  bool cacheEnabled = false;
  std::uint64_t cacheBytes = 0;
  std::uint64_t cacheBlobs = 0;
  std::uint64_t cacheLimit = 0; // 0: no limit
};

// The report at `now`. Records a history sample first (the first of its minute is kept), so a
// page read before the sampler ran still has one.
StatusReport gatherStatus(const StatusSources &shared, std::chrono::system_clock::time_point now);

// Whether `registry` (host[:port]) is Docker Hub's registry endpoint.
bool isDockerHub(const std::string &registry);

// The report as one JSON object (the schema is in docs/status-page.md).
std::string renderStatusJson(const StatusReport &report);
// The report as a self-contained HTML page: inline CSS and SVG, one inline script that refreshes
// it from /status.json every 5 s; everything reads without the script.
std::string renderStatusHtml(const StatusReport &report);

// "512 B", "1.5 KiB", "20.0 MiB", "3.2 GiB": the page's one way to write sizes (its script does
// the same).
std::string humanBytes(std::uint64_t bytes);
// "0.0%".."100.0%" of hits among hits and misses; "-" when there were none.
std::string hitRatioText(std::uint64_t hits, std::uint64_t misses);

} // namespace regcache::proxy
