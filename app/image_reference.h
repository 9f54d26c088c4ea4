#pragma once
// Image references as docker and skopeo read them: [REGISTRY/]REPOSITORY[:TAG][@DIGEST].
#include <string>
#include <string_view>

#include "base/result.h"

namespace regcache::app {

struct ImageReference {
  std::string registry;   // "docker.io", "registry.test:5000"
  std::string repository; // "library/alpine"
  std::string reference;  // a tag ("3.19") or a digest ("sha256:<64 hex>")
  // The host:port to connect to: Docker Hub's registry-1.docker.io for docker.io.
  std::string endpoint() const;
  // "docker.io/library/alpine:3.19" or "registry.test:5000/app@sha256:..."
  std::string toString() const;
  bool byDigest() const;
};

// The first component is a registry when it has a '.' or ':' or is "localhost"; otherwise the
// image is on docker.io (also for "index.docker.io"), where a one-component name gets "library/".
// No tag means "latest"; with both a tag and a digest the digest wins. Fails with kInvalidInput on
// an empty, upper-case or otherwise malformed name, tag or digest.
Result<ImageReference> parseImageReference(std::string_view text);

} // namespace regcache::app
