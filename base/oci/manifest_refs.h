#pragma once
// The digests a manifest or an image index points at (config, layers, per-platform manifests),
// read without a full JSON parse: every "digest": "sha256:<64 hex>" member. Used to purge an
// image with everything it references.
#include <string>
#include <string_view>
#include <vector>

namespace regcache::oci {

std::vector<std::string> referencedDigests(std::string_view manifestJson);

} // namespace regcache::oci
