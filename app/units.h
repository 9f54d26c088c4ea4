#pragma once
// Human-friendly durations and sizes for flags and the config file.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace regcache::app {

// "500ms", "10s", "5m", "2h", "7d", or a bare number of seconds. Throws std::invalid_argument.
std::chrono::milliseconds parseDuration(std::string_view text);
// "512", "64KiB", "1MiB", "10GiB", "1TiB", "1KB", "1GB" (decimal), "1k"/"1M"/"1G" (binary).
// Throws std::invalid_argument.
std::uint64_t parseSize(std::string_view text);
// "512 B", "1.5 KiB", "3.2 GiB": one decimal past bytes.
std::string formatBytes(std::uint64_t bytes);

} // namespace regcache::app
