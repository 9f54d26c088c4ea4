#include "proxy/access_log.h"

#include "base/log.h"
#include "proxy/metrics.h"
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

void completeRequest(Metrics &metrics, const AccessRecord &r) {
  RouteLabel route = routeLabelOf(r.method, r.host, r.path);
  Outcome outcome = outcomeOf(r.cache, r.status);
  metrics.countRequest(route, outcome, r.bytesSent, r.fromCache);
  auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - r.started);
  metrics.observeRequestDuration(route, outcome, elapsed);
  metrics.countUser(r.user);
  log::access().info("{} client={} user={} method={} host={} path=\"{}\" status={} bytes={} "
                     "ms={:.1f} cache={} note=\"{}\"",
                     r.connection, r.client, r.user, r.method, r.host.empty() ? "-" : r.host,
                     r.path, r.status, r.bytesSent, static_cast<double>(elapsed.count()) / 1000.0,
                     r.cache.empty() ? "-" : r.cache, r.note.empty() ? "-" : r.note);
}

} // namespace regcache::proxy
