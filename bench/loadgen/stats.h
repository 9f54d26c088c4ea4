#pragma once
// What a run measured, merged over its threads, and its JSON form.
#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace regcache::bench {

struct Sample {
  std::vector<double> latenciesMs;  // one per completed request (or handshake)
  std::vector<double> handshakesMs; // one per TLS handshake, CONNECT included
  std::size_t ok = 0;               // requests (or handshakes) that completed as asked
  std::size_t errors = 0;
  std::size_t bytes = 0; // body bytes read
  std::map<int, std::size_t> statuses;
  std::string firstError;
  std::string cipher;

  // Adds OTHER's counts and latencies to this one.
  void merge(const Sample &other);
};

// The Q-quantile (0..1) of VALUES by nearest rank; 0 when empty. Sorts VALUES.
double quantile(std::vector<double> &values, double q);

// One JSON object: mode, counts, seconds, req_per_s, mib_per_s, latency and handshake
// percentiles in ms, statuses, the first error. ELAPSED is the measured wall time.
std::string toJson(const std::string &mode, Sample &sample, double elapsedSeconds,
                   std::size_t connections);

} // namespace regcache::bench
