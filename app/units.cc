#include "app/units.h"

#include <cctype>
#include <charconv>
#include <cstdio>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>

namespace regcache::app {
namespace {

// Splits "123unit" into 123 and "unit"; throws when there is no number.
std::pair<std::uint64_t, std::string> splitNumber(std::string_view text, const char *what) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data()) {
    throw std::invalid_argument(std::string("bad ") + what + " '" + std::string(text) + "'");
  }
  std::string unit(end, text.data() + text.size());
  for (char &c : unit)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return {value, unit};
}

std::uint64_t checkedMultiply(std::uint64_t value, std::uint64_t factor, std::string_view text) {
  if (factor != 0 && value > std::numeric_limits<std::uint64_t>::max() / factor) {
    throw std::invalid_argument("value too large: '" + std::string(text) + "'");
  }
  return value * factor;
}

} // namespace

std::chrono::milliseconds parseDuration(std::string_view text) {
  auto [value, unit] = splitNumber(text, "duration");
  std::uint64_t factor = 0;
  if (unit == "ms")
    factor = 1;
  else if (unit.empty() || unit == "s")
    factor = 1000;
  else if (unit == "m" || unit == "min")
    factor = 60'000;
  else if (unit == "h")
    factor = 3'600'000;
  else if (unit == "d")
    factor = 86'400'000;
  else
    throw std::invalid_argument("bad duration unit in '" + std::string(text) +
                                "' (use ms, s, m, h or d)");
  return std::chrono::milliseconds(static_cast<std::int64_t>(checkedMultiply(value, factor, text)));
}

std::uint64_t parseSize(std::string_view text) {
  auto [value, unit] = splitNumber(text, "size");
  std::uint64_t factor = 0;
  if (unit.empty() || unit == "b")
    factor = 1;
  else if (unit == "kib" || unit == "k")
    factor = 1ull << 10;
  else if (unit == "mib" || unit == "m")
    factor = 1ull << 20;
  else if (unit == "gib" || unit == "g")
    factor = 1ull << 30;
  else if (unit == "tib" || unit == "t")
    factor = 1ull << 40;
  else if (unit == "kb")
    factor = 1000ull;
  else if (unit == "mb")
    factor = 1000ull * 1000;
  else if (unit == "gb")
    factor = 1000ull * 1000 * 1000;
  else if (unit == "tb")
    factor = 1000ull * 1000 * 1000 * 1000;
  else
    throw std::invalid_argument("bad size unit in '" + std::string(text) +
                                "' (use KiB, MiB, GiB, TiB, KB, MB, GB or TB)");
  return checkedMultiply(value, factor, text);
}

std::string formatBytes(std::uint64_t bytes) {
  const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
  return text;
}

} // namespace regcache::app
