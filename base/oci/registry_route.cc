#include "base/oci/registry_route.h"

namespace regcache::oci {
namespace {

bool lowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
bool validComponent(std::string_view c) {
  if (c.empty() || !lowerAlnum(c.front()) || !lowerAlnum(c.back())) return false;
  for (std::size_t i = 0; i < c.size();) {
    if (lowerAlnum(c[i])) {
      ++i;
      continue;
    }
    std::size_t start = i;
    while (i < c.size() && !lowerAlnum(c[i]))
      ++i;
    std::string_view sep = c.substr(start, i - start);
    bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
    if (!(sep == "." || sep == "_" || sep == "__" || dashes)) return false;
  }
  return true;
}

} // namespace

bool validRepositoryName(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  while (true) {
    auto slash = name.find('/');
    if (!validComponent(name.substr(0, slash))) return false;
    if (slash == std::string_view::npos) return true;
    name.remove_prefix(slash + 1);
  }
}

bool validTag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  if (!word(tag.front())) return false;
  for (char c : tag) {
    if (!word(c) && c != '.' && c != '-') return false;
  }
  return true;
}

std::optional<RegistryRoute> parseRegistryPath(std::string_view path) {
  constexpr std::string_view kPrefix = "/v2/";
  if (path.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string_view rest = path.substr(kPrefix.size());
  auto lastSlash = rest.rfind('/');
  if (lastSlash == std::string_view::npos) return std::nullopt;
  std::string_view reference = rest.substr(lastSlash + 1);
  std::string_view head = rest.substr(0, lastSlash);
  auto kindSlash = head.rfind('/');
  if (kindSlash == std::string_view::npos) return std::nullopt;
  std::string_view kind = head.substr(kindSlash + 1);
  std::string_view name = head.substr(0, kindSlash);
  if (!validRepositoryName(name)) return std::nullopt;

  RegistryRoute route;
  route.repository = std::string(name);
  route.reference = std::string(reference);
  route.digest = parseDigest(reference);
  if (kind == "blobs") {
    if (!route.digest) return std::nullopt; // uploads, or a digest the cache cannot verify
    route.kind = RegistryRoute::Kind::kBlob;
    return route;
  }
  if (kind == "manifests") {
    if (!route.digest && (reference.find(':') != std::string_view::npos || !validTag(reference))) {
      return std::nullopt;
    }
    route.kind = RegistryRoute::Kind::kManifest;
    return route;
  }
  return std::nullopt;
}

} // namespace regcache::oci
