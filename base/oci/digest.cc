#include "base/oci/digest.h"

namespace regcache::oci {

std::optional<Digest> parseDigest(std::string_view text) {
  constexpr std::string_view kPrefix = "sha256:";
  if (text.size() != kPrefix.size() + 64 || text.substr(0, kPrefix.size()) != kPrefix) {
    return std::nullopt;
  }
  std::string_view hex = text.substr(kPrefix.size());
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  return Digest{"sha256", std::string(hex)};
}

} // namespace regcache::oci
