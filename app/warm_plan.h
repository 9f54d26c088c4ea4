#pragma once
// The first half of warming an image: its manifest, and for an index each wanted platform's
// manifest, fetched through the registry client (so the proxy caches them), and the blobs they
// name.
#include <string>
#include <vector>

#include "app/image_reference.h"
#include "app/manifest_contents.h"
#include "app/platform_filter.h"
#include "app/registry_client.h"
#include "base/result.h"

namespace regcache::app {

struct ImagePlan {
  std::vector<std::string> platforms; // the index entries chosen ("linux/amd64"); empty: no index
  std::vector<Descriptor> blobs;      // configs and layers, each digest once
};

// Fetches `image`'s manifest; an index's entries are filtered by `wanted` (empty: all), and it
// fails when none is left. Manifests fetched by digest must hash to it. The detail of a failure
// says what went wrong ("manifest v9: HTTP 404 (not found)").
Result<ImagePlan> planImage(RegistryClient &client, const ImageReference &image,
                            const std::vector<Platform> &wanted);

// The blobs of `plan` plus those of `contents`, each digest once, in first-seen order.
void addBlobs(ImagePlan &plan, const ManifestContents &contents);

} // namespace regcache::app
