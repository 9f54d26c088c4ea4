#include "bench/loadgen/stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace regcache::bench {
namespace {

std::string number(double value) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.4f", value);
  return text;
}

std::string escaped(const std::string &text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
  }
  return out;
}

} // namespace

void Sample::merge(const Sample &other) {
  latenciesMs.insert(latenciesMs.end(), other.latenciesMs.begin(), other.latenciesMs.end());
  handshakesMs.insert(handshakesMs.end(), other.handshakesMs.begin(), other.handshakesMs.end());
  ok += other.ok;
  errors += other.errors;
  bytes += other.bytes;
  for (const auto &[status, count] : other.statuses)
    statuses[status] += count;
  if (firstError.empty()) firstError = other.firstError;
  if (cipher.empty()) cipher = other.cipher;
}

double quantile(std::vector<double> &values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

std::string toJson(const std::string &mode, Sample &sample, double elapsedSeconds,
                   std::size_t connections) {
  double seconds = std::max(elapsedSeconds, 1e-9);
  std::string statuses;
  for (const auto &[status, count] : sample.statuses) {
    if (!statuses.empty()) statuses += ",";
    statuses += "\"" + std::to_string(status) + "\":" + std::to_string(count);
  }
  return "{\"mode\":\"" + mode + "\",\"connections\":" + std::to_string(connections) +
         ",\"ok\":" + std::to_string(sample.ok) + ",\"errors\":" + std::to_string(sample.errors) +
         ",\"bytes\":" + std::to_string(sample.bytes) + ",\"seconds\":" + number(seconds) +
         ",\"req_per_s\":" + number(static_cast<double>(sample.ok) / seconds) +
         ",\"mib_per_s\":" + number(static_cast<double>(sample.bytes) / seconds / 1048576.0) +
         ",\"p50_ms\":" + number(quantile(sample.latenciesMs, 0.5)) +
         ",\"p99_ms\":" + number(quantile(sample.latenciesMs, 0.99)) +
         ",\"p999_ms\":" + number(quantile(sample.latenciesMs, 0.999)) +
         ",\"handshake_p50_ms\":" + number(quantile(sample.handshakesMs, 0.5)) +
         ",\"handshake_p99_ms\":" + number(quantile(sample.handshakesMs, 0.99)) +
         ",\"statuses\":{" + statuses + "},\"cipher\":\"" + escaped(sample.cipher) +
         "\",\"first_error\":\"" + escaped(sample.firstError) + "\"}";
}

} // namespace regcache::bench
