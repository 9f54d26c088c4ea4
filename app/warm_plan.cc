#include "app/warm_plan.h"

#include <algorithm>

#include "base/oci/manifest_media_type.h"
#include "base/sha256.h"

namespace regcache::app {
namespace {

Result<ManifestContents> fetchManifest(RegistryClient &client, const ImageReference &image,
                                       const std::string &reference) {
  auto answer = client.get(image, "manifests", reference, std::string(kManifestAccept),
                           oci::kMaxManifestBytes, oci::kMaxManifestBytes);
  if (!answer) return answer.failure();
  if (reference.rfind("sha256:", 0) == 0 && "sha256:" + sha256Hex(answer->body) != reference) {
    return fail(Error::kUpstream, "manifest " + reference + " does not match its digest");
  }
  auto type = answer->headers.get("Content-Type");
  auto contents = parseManifestContents(answer->body, type ? *type : std::string_view());
  if (!contents) return fail(Error::kUpstream, reference + ": " + contents.failure().detail);
  return contents;
}

} // namespace

void addBlobs(ImagePlan &plan, const ManifestContents &contents) {
  for (const auto &blob : contents.blobs) {
    bool seen = std::any_of(plan.blobs.begin(), plan.blobs.end(),
                            [&](const Descriptor &known) { return known.digest == blob.digest; });
    if (!seen) plan.blobs.push_back(blob);
  }
}

Result<ImagePlan> planImage(RegistryClient &client, const ImageReference &image,
                            const std::vector<Platform> &wanted) {
  auto top = fetchManifest(client, image, image.reference);
  if (!top) return top.failure();
  ImagePlan plan;
  if (!top->index) {
    addBlobs(plan, *top);
    return plan;
  }
  for (const auto &entry : top->manifests) {
    if (!platformWanted(wanted, entry.platform)) continue;
    auto child = fetchManifest(client, image, entry.digest);
    if (!child) return child.failure();
    // One level only: an index inside an index is not something clients pull by platform.
    if (child->index) return fail(Error::kUpstream, "index " + entry.digest + " nests an index");
    plan.platforms.push_back(entry.platform.os.empty() ? entry.digest : entry.platform.toString());
    addBlobs(plan, *child);
  }
  if (plan.platforms.empty()) {
    std::string names;
    for (const auto &want : wanted)
      names += (names.empty() ? "" : ", ") + want.toString();
    return fail(Error::kNotFound, names.empty() ? "the index lists no manifest"
                                                : "the index has no manifest for " + names);
  }
  return plan;
}

} // namespace regcache::app
