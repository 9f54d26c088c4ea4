#pragma once
// Recognizes the OCI distribution routes the cache serves. Repository names may contain slashes
// ("library/alpine", "org/team/app"), so the path is read from the right.
#include <optional>
#include <string>
#include <string_view>

#include "base/oci/digest.h"

namespace regcache::oci {

struct RegistryRoute {
  enum class Kind { kBlob, kManifest };
  Kind kind = Kind::kBlob;
  std::string repository;       // "library/alpine"
  std::string reference;        // a tag, or a digest's text
  std::optional<Digest> digest; // set when the reference is a digest the cache can verify
  bool byDigest() const { return digest.has_value(); }
};

// "/v2/<name>/blobs/<digest>" or "/v2/<name>/manifests/<tag|digest>", without the query. Returns
// nullopt for every other path (the /v2/ ping, uploads, tag lists, _catalog) and for names, tags
// or digests that do not follow the distribution spec's grammar.
std::optional<RegistryRoute> parseRegistryPath(std::string_view path);

// The distribution spec's grammar pieces, exposed for tests.
bool validRepositoryName(std::string_view name);
bool validTag(std::string_view tag);

} // namespace regcache::oci
