#pragma once
// One line per request on the "access" logger.
#include <chrono>
#include <cstdint>
#include <string>

namespace regcache::proxy {

struct AccessRecord {
  std::string connection; // "[c42]"
  std::string client;     // peer address
  std::string user = "-"; // proxy credentials' user
  std::string method;
  std::string host; // upstream host[:port], or "-" for the proxy's own endpoints
  std::string path;
  int status = 0;         // 0: no response was sent
  int upstreamStatus = 0; // the status of upstream's last response head; 0: none
  std::uint64_t bytesSent = 0;
  std::chrono::steady_clock::time_point started;
  std::string note;       // why it failed, or how it was served ("-" when empty)
  std::string cache;      // the X-Cache answer (HIT, MISS, ...), or COALESCED; empty: pass-through
  bool fromCache = false; // the body came from disk, not from upstream
};

class Metrics;

enum class AccessLogFormat { kText, kJson };
// How completeRequest writes access lines from now on (set once at start-up; default text).
void setAccessLogFormat(AccessLogFormat format);

// The request as one JSON object on one line (no newline): time (UTC, ms), connection, client,
// user, method, host, path, status, bytes, duration_ms, cache, upstream_status (null when no
// upstream answered), note. Strings are escaped, so hostile paths cannot break the line.
std::string accessLineJson(const AccessRecord &record, std::chrono::system_clock::time_point now,
                           std::chrono::microseconds elapsed);

class ClientSide;

// A record for a request of `client` starting now; status, bytes and note are filled in as it
// goes.
AccessRecord startAccessRecord(const ClientSide &client, std::string method, std::string host,
                               std::string path);

// Writes the request's access line and counts it in the metrics.
void completeRequest(Metrics &metrics, const AccessRecord &record);

} // namespace regcache::proxy
