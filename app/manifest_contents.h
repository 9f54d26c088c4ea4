#pragma once
// What a manifest points at, read from its JSON: an image index (OCI index or Docker manifest
// list) names per-platform manifests; an image manifest (OCI or Docker schema 2) names a config
// and layers. The bytes come from a registry: every digest is checked and every oddity is an
// error, never a crash.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "app/platform_filter.h"
#include "base/result.h"

namespace regcache::app {

struct Descriptor {
  std::string mediaType;
  std::string digest; // "sha256:<64 hex>"
  std::uint64_t size = 0;
  Platform platform; // index entries only; empty strings when absent
};

struct ManifestContents {
  bool index = false;
  std::vector<Descriptor> manifests; // index: the per-platform manifests, in document order
  std::vector<Descriptor> blobs;     // image manifest: the config, then the layers
};

// Parses `json`. `contentType` (the response's Content-Type, may be empty) decides the kind when
// given; otherwise the document's own "mediaType" or its shape ("manifests" vs "layers"). Fails
// with kInvalidInput on bad JSON, a descriptor without a sha256 digest or size, or a schema 1
// manifest (which has no descriptors to warm).
Result<ManifestContents> parseManifestContents(std::string_view json,
                                               std::string_view contentType = {});

// The Accept header a client pulling any of these kinds sends.
inline constexpr std::string_view kManifestAccept =
    "application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

} // namespace regcache::app
