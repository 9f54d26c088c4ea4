#include "cache/s3/store_gc.h"

#include <algorithm>
#include <unordered_map>

#include "base/log.h"

namespace regcache::cache::s3 {

Result<GcReport> collectGarbage(S3BlobStore &store, std::chrono::system_clock::time_point cutoff,
                                bool dryRun) {
  // Markers first: a blob committed between the two listings then has no marker yet, and its
  // fresh LastModified keeps it.
  auto markers = store.listObjects(store.markersPrefix());
  if (!markers.ok()) return markers.failure();
  auto blobs = store.listObjects(store.blobsPrefix());
  if (!blobs.ok()) return blobs.failure();
  auto uploads = store.listUploads();
  if (!uploads.ok()) return uploads.failure();

  std::unordered_map<std::string, std::chrono::system_clock::time_point> lastMarked;
  for (const auto &marker : *markers) {
    std::string hex = marker.key.substr(store.markersPrefix().size());
    if (parseDigest("sha256:" + hex)) lastMarked[hex] = marker.lastModified;
  }
  GcReport report;
  std::unordered_map<std::string, bool> present;
  for (const auto &blob : *blobs) {
    std::string hex = blob.key.substr(store.blobsPrefix().size());
    auto digest = parseDigest("sha256:" + hex);
    if (!digest) continue; // not a key the store writes: not ours to judge
    present[hex] = true;
    auto lastUse = blob.lastModified;
    if (auto marked = lastMarked.find(hex); marked != lastMarked.end()) {
      lastUse = std::max(lastUse, marked->second);
    }
    if (lastUse >= cutoff) {
      ++report.blobsKept;
      continue;
    }
    report.blobsRemoved.push_back(digest->toString());
    report.bytesRemoved += blob.size;
    if (dryRun) continue;
    if (auto removed = store.deleteObject(blob.key); !removed.ok()) {
      ++report.failures;
      log::cache().warn("store gc: {}", removed.failure().detail);
      continue;
    }
    if (lastMarked.count(hex) != 0) (void)store.deleteObject(store.markerKey(*digest));
  }
  for (const auto &[hex, marked] : lastMarked) {
    if (present.count(hex) != 0) continue;
    auto digest = parseDigest("sha256:" + hex);
    report.markersRemoved.push_back(digest->toString());
    if (!dryRun && !store.deleteObject(store.markerKey(*digest)).ok()) ++report.failures;
  }
  for (const auto &upload : *uploads) {
    if (upload.initiated >= cutoff) continue;
    report.uploadsAborted.push_back(upload.key);
    if (!dryRun) store.abortUpload(upload.key, upload.uploadId);
  }
  return report;
}

} // namespace regcache::cache::s3
