#include "proxy/access_log.h"

#include "base/log.h"

namespace regcache::proxy {

void writeAccessLog(const AccessRecord &r) {
  auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - r.started);
  log::access().info("{} client={} method={} host={} path=\"{}\" status={} bytes={} ms={:.1f} "
                     "note=\"{}\"",
                     r.connection, r.client, r.method, r.host.empty() ? "-" : r.host, r.path,
                     r.status, r.bytesSent, static_cast<double>(elapsed.count()) / 1000.0,
                     r.note.empty() ? "-" : r.note);
}

} // namespace regcache::proxy
