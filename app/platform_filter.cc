#include "app/platform_filter.h"

namespace regcache::app {

std::string Platform::toString() const {
  return os + "/" + architecture + (variant.empty() ? "" : "/" + variant);
}

Result<Platform> parsePlatform(std::string_view text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    auto slash = text.find('/', start);
    parts.emplace_back(text.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  bool empty = false;
  for (const auto &part : parts)
    empty = empty || part.empty();
  if (parts.size() < 2 || parts.size() > 3 || empty) {
    return fail(Error::kInvalidInput,
                "invalid platform '" + std::string(text) + "' (want os/arch or os/arch/variant)");
  }
  return Platform{parts[0], parts[1], parts.size() == 3 ? parts[2] : ""};
}

bool platformWanted(const std::vector<Platform> &wanted, const Platform &entry) {
  if (wanted.empty()) return true;
  for (const auto &want : wanted) {
    if (want.os == entry.os && want.architecture == entry.architecture &&
        (want.variant.empty() || want.variant == entry.variant)) {
      return true;
    }
  }
  return false;
}

} // namespace regcache::app
