#include "app/image_reference.h"

#include "base/oci/digest.h"

namespace regcache::app {
namespace {

bool isRepositoryByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
         c == '/';
}

bool validRepository(std::string_view name) {
  if (name.empty() || name.size() > 255 || name.front() == '/' || name.back() == '/') return false;
  if (name.find("//") != std::string_view::npos) return false;
  for (char c : name) {
    if (!isRepositoryByte(c)) return false;
  }
  return true;
}

bool validTag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128 || tag.front() == '.' || tag.front() == '-') return false;
  for (char c : tag) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool validRegistry(std::string_view host) {
  if (host.empty()) return false;
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
    if (!ok) return false;
  }
  return true;
}

} // namespace

std::string ImageReference::endpoint() const {
  return registry == "docker.io" ? "registry-1.docker.io:443" : registry;
}

bool ImageReference::byDigest() const { return reference.find(':') != std::string::npos; }

std::string ImageReference::toString() const {
  return registry + "/" + repository + (byDigest() ? "@" : ":") + reference;
}

Result<ImageReference> parseImageReference(std::string_view text) {
  auto invalid = [&](const char *why) {
    return fail(Error::kInvalidInput,
                "invalid image reference '" + std::string(text) + "': " + why);
  };
  ImageReference out;
  std::string_view rest = text;
  if (auto at = rest.find('@'); at != std::string_view::npos) {
    auto digest = oci::parseDigest(rest.substr(at + 1));
    if (!digest) return invalid("bad digest");
    out.reference = digest->toString();
    rest = rest.substr(0, at);
  }
  auto slash = rest.find('/');
  if (slash != std::string_view::npos) {
    std::string_view first = rest.substr(0, slash);
    if (first.find_first_of(".:") != std::string_view::npos || first == "localhost") {
      if (!validRegistry(first)) return invalid("bad registry");
      out.registry = std::string(first);
      rest = rest.substr(slash + 1);
    }
  }
  // index.docker.io is Docker Hub's old name, as docker still accepts it.
  if (out.registry.empty() || out.registry == "index.docker.io") out.registry = "docker.io";
  // A ':' after the last '/' starts the tag (the registry's port is already gone).
  auto colon = rest.rfind(':');
  if (colon != std::string_view::npos && rest.find('/', colon) == std::string_view::npos) {
    std::string_view tag = rest.substr(colon + 1);
    if (!validTag(tag)) return invalid("bad tag");
    if (out.reference.empty()) out.reference = std::string(tag);
    rest = rest.substr(0, colon);
  }
  if (!validRepository(rest)) return invalid("bad repository name");
  out.repository = std::string(rest);
  if (out.registry == "docker.io" && out.repository.find('/') == std::string::npos) {
    out.repository = "library/" + out.repository;
  }
  if (out.reference.empty()) out.reference = "latest";
  return out;
}

} // namespace regcache::app
