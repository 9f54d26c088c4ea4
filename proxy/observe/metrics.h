#pragma once
// Process-wide counters for GET /metrics (Prometheus text format) and for the totals that
// `regcache cache stats` reads back from the index. Every worker thread updates them with relaxed
// atomics; the few per-registry gauges sit behind a mutex, touched once per upstream response.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "proxy/build_identity.h"
#include "proxy/observe/latency_histogram.h"

namespace regcache::oci {
struct RegistryRoute;
} // namespace regcache::oci
#include "proxy/observe/pull_stats.h"

namespace regcache::proxy {

enum class RouteLabel { kBlob, kManifest, kOther, kTunnel, kAdmin, kCount };
enum class Outcome { kHit, kMiss, kStale, kRevalidated, kCoalesced, kPass, kError, kCount };
enum class UpstreamError {
  kDns,
  kConnect,
  kTls,
  kTimeout,
  kProtocol,
  kStatus5xx,
  kStatus429,
  kDigestMismatch,
  kRefused, // the target policy refused the address
  kCount
};

std::string_view labelOf(RouteLabel route);
std::string_view labelOf(Outcome outcome);
std::string_view labelOf(UpstreamError kind);

// The totals kept across restarts in the index.
struct PersistentTotals {
  std::uint64_t cacheHits = 0;   // answered from disk: HIT, STALE, REVALIDATED, COALESCED
  std::uint64_t cacheMisses = 0; // cached routes that needed upstream's body
  std::uint64_t bytesFromCache = 0;
  std::uint64_t bytesFromUpstream = 0;
};

class Metrics {
public:
  Metrics();
  void countRequest(RouteLabel route, Outcome outcome, std::uint64_t bytes, bool fromCache);
  // The time from a request's head to its last byte sent (or its failure), by route and outcome.
  void observeRequestDuration(RouteLabel route, Outcome outcome, std::chrono::microseconds took);
  // The time from a request's head to the head of upstream's response (DNS, connect, TLS and
  // upstream's own wait included).
  void observeUpstreamFirstByte(std::chrono::microseconds took);
  // Labels of regcache_build_info. Call before the workers start.
  void setBuildIdentity(BuildIdentity identity) { build_ = std::move(identity); }
  void countUpstreamError(UpstreamError kind);
  // Requests per proxy user ("-" without credentials).
  void countUser(const std::string &user);
  // From a response's RateLimit-Remaining ("76;w=21600"); ignored when it is not a number.
  // Registries are whatever hosts clients name, so this is where the label set would grow.
  void noteRateLimit(const std::string &registry, std::string_view headerValue);
  // Bounds the label values of each family above (users, registries): once `most` are kept, any
  // new one counts as "other". Call before the workers start. Default 100.
  void limitLabelValues(std::size_t most) { maxLabelValues_ = most; }

  // Holds the fills-in-flight gauge up for as long as it lives.
  class FillHold {
  public:
    FillHold() = default;
    explicit FillHold(Metrics &metrics);
    FillHold(FillHold &&other) noexcept;
    FillHold &operator=(FillHold &&other) noexcept;
    ~FillHold();
    void release();

  private:
    Metrics *metrics_ = nullptr;
  };
  FillHold holdFill() { return FillHold(*this); }

  // By registry and repository, for the status page.
  PullStats &pulls() { return pulls_; }
  const PullStats &pulls() const { return pulls_; }
  std::chrono::system_clock::time_point startedAt() const { return startedAt_; }

  std::uint64_t requests(RouteLabel route, Outcome outcome) const;
  std::uint64_t upstreamErrors(UpstreamError kind) const;
  const BuildIdentity &buildIdentity() const { return build_; }
  std::int64_t fillsInFlight() const { return fillsInFlight_.load(std::memory_order_relaxed); }
  PersistentTotals totals() const;

  // The Prometheus text exposition of everything above.
  std::string renderPrometheus() const;

private:
  using Counter = std::atomic<std::uint64_t>;
  static constexpr auto kRoutes = static_cast<std::size_t>(RouteLabel::kCount);
  static constexpr auto kOutcomes = static_cast<std::size_t>(Outcome::kCount);
  static constexpr auto kErrorKinds = static_cast<std::size_t>(UpstreamError::kCount);

  std::array<std::array<Counter, kOutcomes>, kRoutes> requests_{};
  std::array<std::array<LatencyHistogram, kOutcomes>, kRoutes> requestDurations_{};
  LatencyHistogram upstreamFirstByte_;
  BuildIdentity build_;
  PullStats pulls_;
  std::chrono::system_clock::time_point startedAt_;
  std::array<Counter, kErrorKinds> upstreamErrors_{};
  Counter bytesFromCache_{0};
  Counter bytesFromUpstream_{0};
  std::atomic<std::int64_t> fillsInFlight_{0};
  mutable std::mutex rateLimitMutex_;
  std::map<std::string, long> rateLimitRemaining_;
  mutable std::mutex usersMutex_;
  std::map<std::string, std::uint64_t> requestsByUser_;
  std::size_t maxLabelValues_ = 100;
};

// Idle client connections under --max-idle-connections (proxy/session/idle_connections.h).
struct IdleConnectionCounts {
  std::size_t idle = 0;     // idle now, across the workers
  std::size_t limit = 0;    // --max-idle-connections (0: no bound)
  std::uint64_t closed = 0; // closed by the bound since start
};
// regcache_idle_connections, regcache_idle_connections_limit and
// regcache_idle_connections_closed_total in the Prometheus text format.
std::string renderIdleConnections(const IdleConnectionCounts &counts);

// The route label of a request: blob and manifest routes of the registry API, the proxy's own
// endpoints, CONNECT tunnels, and everything else.
RouteLabel routeLabelOf(std::string_view method, std::string_view host, std::string_view path);
// The same for a path already parsed: `route` is the registry route of its origin-form path
// without the query, or null when it is not one.
RouteLabel routeLabelOf(std::string_view method, std::string_view host,
                        const oci::RegistryRoute *route);
// "HIT", "STALE", ... as sent in X-Cache, plus "COALESCED"; empty is pass-through.
Outcome outcomeOf(std::string_view cacheLabel, int status);

} // namespace regcache::proxy
