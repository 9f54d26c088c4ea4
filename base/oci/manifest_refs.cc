#include "base/oci/manifest_refs.h"

#include <algorithm>

#include "base/oci/digest.h"

namespace regcache::oci {

std::vector<std::string> referencedDigests(std::string_view json) {
  std::vector<std::string> found;
  constexpr std::string_view kKey = "\"digest\"";
  for (auto at = json.find(kKey); at != std::string_view::npos; at = json.find(kKey, at + 1)) {
    std::size_t pos = at + kKey.size();
    while (pos < json.size() &&
           (json[pos] == ' ' || json[pos] == '\t' || json[pos] == '\n' || json[pos] == '\r')) {
      ++pos;
    }
    if (pos >= json.size() || json[pos] != ':') continue;
    ++pos;
    while (pos < json.size() &&
           (json[pos] == ' ' || json[pos] == '\t' || json[pos] == '\n' || json[pos] == '\r')) {
      ++pos;
    }
    if (pos >= json.size() || json[pos] != '"') continue;
    auto end = json.find('"', pos + 1);
    if (end == std::string_view::npos) break;
    if (auto digest = parseDigest(json.substr(pos + 1, end - pos - 1))) {
      found.push_back(digest->toString());
    }
  }
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  return found;
}

} // namespace regcache::oci
