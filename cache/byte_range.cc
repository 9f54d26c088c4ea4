#include "cache/byte_range.h"

#include <charconv>

namespace regcache::cache {
namespace {

std::optional<std::uint64_t> number(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ')
    s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ')
    s.remove_suffix(1);
  return s;
}

} // namespace

ByteRange resolveRange(std::optional<std::string_view> header, std::uint64_t size) {
  ByteRange whole;
  if (!header) return whole;
  std::string_view value = trim(*header);
  constexpr std::string_view kUnit = "bytes=";
  if (value.substr(0, kUnit.size()) != kUnit) return whole;
  std::string_view spec = trim(value.substr(kUnit.size()));
  if (spec.find(',') != std::string_view::npos) return whole;
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return whole;
  std::string_view firstText = trim(spec.substr(0, dash));
  std::string_view lastText = trim(spec.substr(dash + 1));

  ByteRange range;
  range.kind = ByteRange::Kind::kPartial;
  if (firstText.empty()) { // suffix: the last N bytes
    auto suffix = number(lastText);
    if (!suffix) return whole;
    if (*suffix == 0 || size == 0) return ByteRange{ByteRange::Kind::kUnsatisfiable};
    range.first = *suffix >= size ? 0 : size - *suffix;
    range.last = size - 1;
    return range;
  }
  auto first = number(firstText);
  if (!first) return whole;
  if (*first >= size) return ByteRange{ByteRange::Kind::kUnsatisfiable};
  range.first = *first;
  if (lastText.empty()) {
    range.last = size - 1;
    return range;
  }
  auto last = number(lastText);
  if (!last || *last < *first) return whole;
  range.last = *last >= size ? size - 1 : *last;
  return range;
}

} // namespace regcache::cache
