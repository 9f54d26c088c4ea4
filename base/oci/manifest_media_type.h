#pragma once
// The media type a manifest is served with, read from its own bytes. Those are fixed by the
// digest, so no upstream chooses it: bytes first cached through /blobs/ (as
// application/octet-stream) or by another registry still go out under /manifests/ with the type
// docker and containerd need to parse them.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace regcache::oci {

// Larger bytes are no manifest: the distribution registry refuses manifests past 4 MiB.
inline constexpr std::size_t kMaxManifestBytes = 4 * 1024 * 1024;

// The top-level "mediaType" of the JSON object `json` (a nested descriptor's does not count; of
// repeated keys the last, as Go reads them), if it is a well-formed media type. Without one, what
// the shape says: "manifests" is an OCI index, "layers" or "config" an OCI image manifest,
// "fsLayers" a schema 1 manifest (signed if it has "signatures"). Nothing when `json` is not a
// JSON object or names no type. Not a validating parser: it only skips values it does not need.
std::optional<std::string> manifestMediaType(std::string_view json);

} // namespace regcache::oci
