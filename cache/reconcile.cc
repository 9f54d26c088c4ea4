#include "cache/reconcile.h"

#include <set>
#include <string>

#include "cache/blob_store_sync.h"
#include "cache/index.h"

namespace regcache::cache {

ReconcileReport reconcile(Index &index, BlobStore &store, std::chrono::seconds orphanGrace) {
  ReconcileReport report;
  auto indexed = index.allDigests();
  if (!indexed.ok()) return report;
  std::set<std::string> rows(indexed->begin(), indexed->end());
  auto newest = std::chrono::system_clock::now() - orphanGrace;
  auto blobs = listNow(store); // the file store's listing follows no link
  if (!blobs.ok()) return report;
  for (const auto &blob : blobs.value()) {
    if (rows.erase(blob.digest.toString()) != 0) continue;
    if (orphanGrace.count() != 0 && blob.modified > newest) continue;
    if (removeNow(store, blob.digest).ok()) ++report.orphanFiles;
  }
  for (const auto &digest : rows) { // rows left have no file
    if (index.removeBlob(digest).ok()) ++report.missingFiles;
  }
  if (auto dangling = index.removeDanglingTags(); dangling.ok()) report.danglingTags = *dangling;
  return report;
}

} // namespace regcache::cache
