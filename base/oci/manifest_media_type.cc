#include "base/oci/manifest_media_type.h"

namespace regcache::oci {
namespace {

constexpr std::size_t kBad = std::string_view::npos;

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::size_t skipSpace(std::string_view s, std::size_t pos) {
  while (pos < s.size() && isSpace(s[pos]))
    ++pos;
  return pos;
}

// `pos` is at an opening quote; returns the position after the closing one.
std::size_t skipString(std::string_view s, std::size_t pos) {
  for (++pos; pos < s.size(); ++pos) {
    if (s[pos] == '\\') {
      ++pos;
    } else if (s[pos] == '"') {
      return pos + 1;
    }
  }
  return kBad;
}

// Skips one value of any kind; nesting is counted, not recursed into, so depth costs no stack.
std::size_t skipValue(std::string_view s, std::size_t pos) {
  if (pos >= s.size()) return kBad;
  if (s[pos] == '"') return skipString(s, pos);
  if (s[pos] == '{' || s[pos] == '[') {
    std::size_t depth = 0;
    while (pos < s.size()) {
      char c = s[pos];
      if (c == '"') {
        pos = skipString(s, pos);
        if (pos == kBad) return kBad;
        continue;
      }
      if (c == '{' || c == '[') {
        ++depth;
      } else if ((c == '}' || c == ']') && --depth == 0) {
        return pos + 1;
      }
      ++pos;
    }
    return kBad;
  }
  std::size_t start = pos; // a number, true, false or null
  while (pos < s.size() && s[pos] != ',' && s[pos] != '}' && s[pos] != ']' && !isSpace(s[pos]))
    ++pos;
  return pos == start ? kBad : pos;
}

// type "/" subtype, each of RFC 6838's restricted-name characters: safe in a header as it is.
bool wellFormedMediaType(std::string_view type) {
  auto slash = type.find('/');
  if (slash == 0 || slash == std::string_view::npos || slash + 1 == type.size() ||
      type.size() > 255) {
    return false;
  }
  for (std::size_t i = 0; i < type.size(); ++i) {
    char c = type[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    bool punctuation = c == '!' || c == '#' || c == '$' || c == '&' || c == '-' || c == '^' ||
                       c == '_' || c == '.' || c == '+';
    if (!alnum && !punctuation && i != slash) return false;
  }
  return true;
}

} // namespace

std::optional<std::string> manifestMediaType(std::string_view json) {
  std::size_t pos = skipSpace(json, 0);
  if (pos >= json.size() || json[pos] != '{') return std::nullopt;
  pos = skipSpace(json, pos + 1);
  std::optional<std::string_view> mediaType;
  bool manifests = false, layers = false, fsLayers = false, signatures = false;
  while (pos < json.size() && json[pos] != '}') {
    if (json[pos] != '"') return std::nullopt;
    std::size_t keyEnd = skipString(json, pos);
    if (keyEnd == kBad) return std::nullopt;
    std::string_view key = json.substr(pos + 1, keyEnd - pos - 2);
    pos = skipSpace(json, keyEnd);
    if (pos >= json.size() || json[pos] != ':') return std::nullopt;
    pos = skipSpace(json, pos + 1);
    std::size_t valueEnd = skipValue(json, pos);
    if (valueEnd == kBad) return std::nullopt;
    if (key == "mediaType") {
      mediaType.reset();
      if (json[pos] == '"') mediaType = json.substr(pos + 1, valueEnd - pos - 2);
    }
    manifests = manifests || key == "manifests";
    layers = layers || key == "layers" || key == "config";
    fsLayers = fsLayers || key == "fsLayers";
    signatures = signatures || key == "signatures";
    pos = skipSpace(json, valueEnd);
    if (pos < json.size() && json[pos] == ',') pos = skipSpace(json, pos + 1);
  }
  if (pos >= json.size()) return std::nullopt; // no closing brace
  if (mediaType) {
    if (!wellFormedMediaType(*mediaType)) return std::nullopt;
    return std::string(*mediaType);
  }
  if (manifests) return "application/vnd.oci.image.index.v1+json";
  if (layers) return "application/vnd.oci.image.manifest.v1+json";
  if (fsLayers) {
    return signatures ? "application/vnd.docker.distribution.manifest.v1+prettyjws"
                      : "application/vnd.docker.distribution.manifest.v1+json";
  }
  return std::nullopt;
}

} // namespace regcache::oci
