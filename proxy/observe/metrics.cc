#include "proxy/observe/metrics.h"

#include <charconv>

#include "base/oci/registry_route.h"

namespace regcache::proxy {

std::string_view labelOf(RouteLabel route) {
  switch (route) {
  case RouteLabel::kBlob: return "blob";
  case RouteLabel::kManifest: return "manifest";
  case RouteLabel::kOther: return "other";
  case RouteLabel::kTunnel: return "tunnel";
  case RouteLabel::kAdmin: return "admin";
  case RouteLabel::kCount: break;
  }
  return "?";
}

std::string_view labelOf(Outcome outcome) {
  switch (outcome) {
  case Outcome::kHit: return "hit";
  case Outcome::kMiss: return "miss";
  case Outcome::kStale: return "stale";
  case Outcome::kRevalidated: return "revalidated";
  case Outcome::kCoalesced: return "coalesced";
  case Outcome::kPass: return "pass";
  case Outcome::kError: return "error";
  case Outcome::kCount: break;
  }
  return "?";
}

std::string_view labelOf(UpstreamError kind) {
  switch (kind) {
  case UpstreamError::kDns: return "dns";
  case UpstreamError::kConnect: return "connect";
  case UpstreamError::kTls: return "tls";
  case UpstreamError::kTimeout: return "timeout";
  case UpstreamError::kProtocol: return "protocol";
  case UpstreamError::kStatus5xx: return "status_5xx";
  case UpstreamError::kStatus429: return "status_429";
  case UpstreamError::kDigestMismatch: return "digest_mismatch";
  case UpstreamError::kRefused: return "refused";
  case UpstreamError::kCount: break;
  }
  return "?";
}

RouteLabel routeLabelOf(std::string_view method, std::string_view host, std::string_view path) {
  if (method == "CONNECT") return RouteLabel::kTunnel;
  if (host == "-") return RouteLabel::kAdmin;
  // Handlers log the target as the client sent it, absolute-form included.
  if (auto scheme = path.find("://"); scheme != std::string_view::npos && scheme < path.find('/')) {
    auto slash = path.find('/', scheme + 3);
    path = slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
  }
  auto route = oci::parseRegistryPath(path.substr(0, path.find('?')));
  return routeLabelOf(method, host, route ? &*route : nullptr);
}

RouteLabel routeLabelOf(std::string_view method, std::string_view host,
                        const oci::RegistryRoute *route) {
  if (method == "CONNECT") return RouteLabel::kTunnel;
  if (host == "-") return RouteLabel::kAdmin;
  if (route == nullptr) return RouteLabel::kOther;
  return route->kind == oci::RegistryRoute::Kind::kBlob ? RouteLabel::kBlob : RouteLabel::kManifest;
}

Outcome outcomeOf(std::string_view cacheLabel, int status) {
  if (cacheLabel == "HIT") return Outcome::kHit;
  if (cacheLabel == "MISS") return Outcome::kMiss;
  if (cacheLabel == "STALE") return Outcome::kStale;
  if (cacheLabel == "REVALIDATED") return Outcome::kRevalidated;
  if (cacheLabel == "COALESCED") return Outcome::kCoalesced;
  return status == 0 || status >= 500 ? Outcome::kError : Outcome::kPass;
}

Metrics::Metrics() : startedAt_(std::chrono::system_clock::now()) {}

void Metrics::observeRequestDuration(RouteLabel route, Outcome outcome,
                                     std::chrono::microseconds took) {
  requestDurations_[static_cast<std::size_t>(route)][static_cast<std::size_t>(outcome)].observe(
      took);
}

void Metrics::observeUpstreamFirstByte(std::chrono::microseconds took) {
  upstreamFirstByte_.observe(took);
}

void Metrics::countRequest(RouteLabel route, Outcome outcome, std::uint64_t bytes, bool fromCache) {
  requests_[static_cast<std::size_t>(route)][static_cast<std::size_t>(outcome)].fetch_add(
      1, std::memory_order_relaxed);
  // The proxy's own pages (/metrics, the status page) come from neither cache nor upstream.
  if (route == RouteLabel::kAdmin) return;
  (fromCache ? bytesFromCache_ : bytesFromUpstream_).fetch_add(bytes, std::memory_order_relaxed);
}

namespace {

constexpr std::string_view kOtherLabel = "other";

// The series `value` counts under: its own while the family has room, "other" past the bound.
template <class Map>
std::string labelIn(const Map &series, const std::string &value, std::size_t most) {
  if (series.count(value) != 0 || series.size() < most) return value;
  return std::string(kOtherLabel);
}

} // namespace

void Metrics::countUser(const std::string &user) {
  std::lock_guard lock(usersMutex_);
  ++requestsByUser_[labelIn(requestsByUser_, user, maxLabelValues_)];
}

void Metrics::countUpstreamError(UpstreamError kind) {
  upstreamErrors_[static_cast<std::size_t>(kind)].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::noteRateLimit(const std::string &registry, std::string_view headerValue) {
  long remaining = 0;
  auto [end, error] =
      std::from_chars(headerValue.data(), headerValue.data() + headerValue.size(), remaining);
  if (error != std::errc() || end == headerValue.data()) return;
  pulls_.noteRateLimit(registry, remaining, std::chrono::system_clock::now());
  std::lock_guard lock(rateLimitMutex_);
  rateLimitRemaining_[labelIn(rateLimitRemaining_, registry, maxLabelValues_)] = remaining;
}

std::uint64_t Metrics::requests(RouteLabel route, Outcome outcome) const {
  return requests_[static_cast<std::size_t>(route)][static_cast<std::size_t>(outcome)].load(
      std::memory_order_relaxed);
}

std::uint64_t Metrics::upstreamErrors(UpstreamError kind) const {
  return upstreamErrors_[static_cast<std::size_t>(kind)].load(std::memory_order_relaxed);
}

PersistentTotals Metrics::totals() const {
  PersistentTotals totals;
  for (auto route : {RouteLabel::kBlob, RouteLabel::kManifest}) {
    for (auto outcome :
         {Outcome::kHit, Outcome::kStale, Outcome::kRevalidated, Outcome::kCoalesced}) {
      totals.cacheHits += requests(route, outcome);
    }
    totals.cacheMisses += requests(route, Outcome::kMiss);
  }
  totals.bytesFromCache = bytesFromCache_.load(std::memory_order_relaxed);
  totals.bytesFromUpstream = bytesFromUpstream_.load(std::memory_order_relaxed);
  return totals;
}

namespace {

// Label values are registry host names from requests: escape what the format reserves.
std::string escapeLabel(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void header(std::string &out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

} // namespace

std::string Metrics::renderPrometheus() const {
  std::string out;
  header(out, "regcache_build_info", "gauge",
         "Always 1; the labels say which regcache answers (version, git describe, build type).");
  out += "regcache_build_info{version=\"" + escapeLabel(build_.version) + "\",git=\"" +
         escapeLabel(build_.git) + "\",build_type=\"" + escapeLabel(build_.buildType) + "\"} 1\n";
  header(out, "regcache_start_time_seconds", "gauge",
         "When the proxy started, in seconds since the Unix epoch.");
  out +=
      "regcache_start_time_seconds " +
      std::to_string(
          std::chrono::duration_cast<std::chrono::seconds>(startedAt_.time_since_epoch()).count()) +
      "\n";
  header(out, "regcache_requests_total", "counter",
         "Requests answered, by route and cache outcome.");
  for (std::size_t r = 0; r < kRoutes; ++r) {
    for (std::size_t o = 0; o < kOutcomes; ++o) {
      std::uint64_t value = requests_[r][o].load(std::memory_order_relaxed);
      if (value == 0) continue;
      out += "regcache_requests_total{route=\"" + std::string(labelOf(static_cast<RouteLabel>(r))) +
             "\",outcome=\"" + std::string(labelOf(static_cast<Outcome>(o))) + "\"} " +
             std::to_string(value) + "\n";
    }
  }
  header(out, "regcache_request_duration_seconds", "histogram",
         "From a request's head to its last byte sent, by route and cache outcome.");
  for (std::size_t r = 0; r < kRoutes; ++r) {
    for (std::size_t o = 0; o < kOutcomes; ++o) {
      requestDurations_[r][o].render(out, "regcache_request_duration_seconds",
                                     "route=\"" + std::string(labelOf(static_cast<RouteLabel>(r))) +
                                         "\",outcome=\"" +
                                         std::string(labelOf(static_cast<Outcome>(o))) + "\"");
    }
  }
  header(out, "regcache_upstream_first_byte_seconds", "histogram",
         "From a request's head to the head of upstream's response (DNS, connect, TLS, wait).");
  upstreamFirstByte_.render(out, "regcache_upstream_first_byte_seconds", "");
  header(out, "regcache_served_bytes_total", "counter",
         "Response body bytes sent to clients, by where they came from.");
  out += "regcache_served_bytes_total{source=\"cache\"} " +
         std::to_string(bytesFromCache_.load(std::memory_order_relaxed)) + "\n";
  out += "regcache_served_bytes_total{source=\"upstream\"} " +
         std::to_string(bytesFromUpstream_.load(std::memory_order_relaxed)) + "\n";
  header(out, "regcache_fills_in_flight", "gauge", "Cache fills being written now.");
  out += "regcache_fills_in_flight " + std::to_string(fillsInFlight()) + "\n";
  header(out, "regcache_upstream_errors_total", "counter", "Failed upstream exchanges, by kind.");
  for (std::size_t k = 0; k < kErrorKinds; ++k) {
    out += "regcache_upstream_errors_total{kind=\"" +
           std::string(labelOf(static_cast<UpstreamError>(k))) + "\"} " +
           std::to_string(upstreamErrors_[k].load(std::memory_order_relaxed)) + "\n";
  }
  header(out, "regcache_client_requests_total", "counter",
         "Requests by proxy user (\"-\": no proxy credentials).");
  {
    std::lock_guard lock(usersMutex_);
    for (const auto &[user, count] : requestsByUser_) {
      out += "regcache_client_requests_total{user=\"" + escapeLabel(user) + "\"} " +
             std::to_string(count) + "\n";
    }
  }
  header(out, "regcache_upstream_ratelimit_remaining", "gauge",
         "The last RateLimit-Remaining each registry sent.");
  std::lock_guard lock(rateLimitMutex_);
  for (const auto &[registry, remaining] : rateLimitRemaining_) {
    out += "regcache_upstream_ratelimit_remaining{registry=\"" + escapeLabel(registry) + "\"} " +
           std::to_string(remaining) + "\n";
  }
  return out;
}

std::string renderIdleConnections(const IdleConnectionCounts &counts) {
  std::string out;
  header(out, "regcache_idle_connections", "gauge",
         "Client connections idle between two requests now, across the workers.");
  out += "regcache_idle_connections " + std::to_string(counts.idle) + "\n";
  header(out, "regcache_idle_connections_limit", "gauge", "--max-idle-connections (0: no bound).");
  out += "regcache_idle_connections_limit " + std::to_string(counts.limit) + "\n";
  header(out, "regcache_idle_connections_closed_total", "counter",
         "Idle client connections closed, the longest idle first, to stay within "
         "--max-idle-connections.");
  out += "regcache_idle_connections_closed_total " + std::to_string(counts.closed) + "\n";
  return out;
}

Metrics::FillHold::FillHold(Metrics &metrics) : metrics_(&metrics) {
  metrics_->fillsInFlight_.fetch_add(1, std::memory_order_relaxed);
}

Metrics::FillHold::FillHold(FillHold &&other) noexcept : metrics_(other.metrics_) {
  other.metrics_ = nullptr;
}

Metrics::FillHold &Metrics::FillHold::operator=(FillHold &&other) noexcept {
  if (this != &other) {
    release();
    metrics_ = other.metrics_;
    other.metrics_ = nullptr;
  }
  return *this;
}

Metrics::FillHold::~FillHold() { release(); }

void Metrics::FillHold::release() {
  if (metrics_ != nullptr) metrics_->fillsInFlight_.fetch_sub(1, std::memory_order_relaxed);
  metrics_ = nullptr;
}

} // namespace regcache::proxy
