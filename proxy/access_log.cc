#include "proxy/access_log.h"

#include "base/log.h"
#include "proxy/metrics.h"

namespace regcache::proxy {

AccessRecord startAccessRecord(std::string connection, std::string client, std::string method,
                               std::string host, std::string path) {
  AccessRecord record;
  record.connection = std::move(connection);
  record.client = std::move(client);
  record.method = std::move(method);
  record.host = std::move(host);
  record.path = std::move(path);
  record.started = std::chrono::steady_clock::now();
  return record;
}

void completeRequest(Metrics &metrics, const AccessRecord &r) {
  metrics.countRequest(routeLabelOf(r.method, r.host, r.path), outcomeOf(r.cache, r.status),
                       r.bytesSent, r.fromCache);
  auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - r.started);
  log::access().info("{} client={} method={} host={} path=\"{}\" status={} bytes={} ms={:.1f} "
                     "cache={} note=\"{}\"",
                     r.connection, r.client, r.method, r.host.empty() ? "-" : r.host, r.path,
                     r.status, r.bytesSent, static_cast<double>(elapsed.count()) / 1000.0,
                     r.cache.empty() ? "-" : r.cache, r.note.empty() ? "-" : r.note);
}

} // namespace regcache::proxy
