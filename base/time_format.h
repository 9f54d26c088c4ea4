#pragma once
// Wall-clock times as UTC text.
#include <chrono>
#include <ctime>
#include <string>

namespace regcache {

// strftime of `time` in UTC, e.g. "%Y-%m-%dT%H:%M:%SZ" or the HTTP date "%a, %d %b %Y %H:%M:%S
// GMT".
inline std::string formatUtcTime(std::chrono::system_clock::time_point time, const char *format) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char buf[64];
  std::size_t n = std::strftime(buf, sizeof buf, format, &parts);
  return std::string(buf, n);
}

} // namespace regcache
