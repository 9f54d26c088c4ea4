#include "proxy/observe/access_log.h"

#include <spdlog/fmt/fmt.h>

#include <atomic>

#include "base/json_text.h"
#include "base/log.h"
#include "base/oci/registry_route.h"
#include "base/time_format.h"
#include "proxy/observe/metrics.h"
#include "proxy/request_handler.h"

namespace regcache::proxy {

AccessRecord startAccessRecord(const ClientSide &client, std::string method, std::string host,
                               std::string path) {
  AccessRecord record;
  record.connection = client.logPrefix();
  record.client = client.peer().toString();
  record.user = client.user();
  record.method = std::move(method);
  record.host = std::move(host);
  record.path = std::move(path);
  record.started = std::chrono::steady_clock::now();
  return record;
}

namespace {

std::atomic<AccessLogFormat> accessLogFormat{AccessLogFormat::kText};

} // namespace

void setAccessLogFormat(AccessLogFormat format) {
  accessLogFormat.store(format, std::memory_order_relaxed);
}

std::string accessLineJson(const AccessRecord &r, std::chrono::system_clock::time_point now,
                           std::chrono::microseconds elapsed) {
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::string time = formatUtcTime(now, "%Y-%m-%dT%H:%M:%S") + fmt::format(".{:03d}Z", millis);
  std::string connection = r.connection;
  if (connection.size() > 2 && connection.front() == '[') {
    connection = connection.substr(1, connection.size() - 2); // "[c42]" -> "c42"
  }
  return fmt::format(
      "{{\"time\":{},\"connection\":{},\"client\":{},\"user\":{},\"method\":{},\"host\":{},"
      "\"path\":{},\"status\":{},\"bytes\":{},\"duration_ms\":{:.1f},\"cache\":{},"
      "\"upstream_status\":{},\"note\":{}}}",
      jsonText(time), jsonText(connection), jsonText(r.client), jsonText(r.user),
      jsonText(r.method), jsonText(r.host.empty() ? "-" : r.host), jsonText(r.path), r.status,
      r.bytesSent, static_cast<double>(elapsed.count()) / 1000.0,
      r.cache.empty() ? "null" : jsonText(r.cache),
      r.upstreamStatus == 0 ? "null" : std::to_string(r.upstreamStatus),
      r.note.empty() ? "null" : jsonText(r.note));
}

namespace {

// The origin-form path of a target logged as the client sent it (absolute-form included).
std::string_view originPath(std::string_view target) {
  if (auto scheme = target.find("://");
      scheme != std::string_view::npos && scheme < target.find('/')) {
    auto slash = target.find('/', scheme + 3);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  return target.substr(0, target.find('?'));
}

// `route` is r.path parsed (one parse per request serves the route label and this).
void countPull(Metrics &metrics, const AccessRecord &r, const oci::RegistryRoute *route,
               Outcome outcome) {
  if (route == nullptr) return;
  bool manifestGet = route->kind == oci::RegistryRoute::Kind::kManifest && r.method == "GET" &&
                     r.status >= 200 && r.status < 300;
  // Docker Hub counts manifest GETs against its limit; a REVALIDATED one cost upstream a HEAD.
  bool saved = outcome == Outcome::kHit || outcome == Outcome::kStale ||
               outcome == Outcome::kRevalidated || outcome == Outcome::kCoalesced;
  // Cache answers name plain-HTTP registries "http://host:port", upstream exchanges "host:port".
  std::string_view registry = r.host;
  if (registry.rfind("http://", 0) == 0) registry.remove_prefix(7);
  metrics.pulls().countRequest(std::string(registry), route->repository, manifestGet, saved,
                               r.bytesSent);
}

} // namespace

void completeRequest(Metrics &metrics, const AccessRecord &r) {
  // The path is parsed once here: the label and the pull counters both need it (it was parsed
  // twice, a few percent of a small hit's instructions).
  std::optional<oci::RegistryRoute> registryRoute;
  if (r.method != "CONNECT" && r.host != "-")
    registryRoute = oci::parseRegistryPath(originPath(r.path));
  const oci::RegistryRoute *parsed = registryRoute ? &*registryRoute : nullptr;
  RouteLabel route = routeLabelOf(r.method, r.host, parsed);
  Outcome outcome = outcomeOf(r.cache, r.status);
  metrics.countRequest(route, outcome, r.bytesSent, r.fromCache);
  auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - r.started);
  metrics.observeRequestDuration(route, outcome, elapsed);
  if (route == RouteLabel::kBlob || route == RouteLabel::kManifest)
    countPull(metrics, r, parsed, outcome);
  metrics.countUser(r.user);
  if (accessLogFormat.load(std::memory_order_relaxed) == AccessLogFormat::kJson) {
    log::access().info("{}", accessLineJson(r, std::chrono::system_clock::now(), elapsed));
    return;
  }
  log::access().info("{} client={} user={} method={} host={} path=\"{}\" status={} bytes={} "
                     "ms={:.1f} cache={} note=\"{}\"",
                     r.connection, r.client, r.user, r.method, r.host.empty() ? "-" : r.host,
                     r.path, r.status, r.bytesSent, static_cast<double>(elapsed.count()) / 1000.0,
                     r.cache.empty() ? "-" : r.cache, r.note.empty() ? "-" : r.note);
}

} // namespace regcache::proxy
