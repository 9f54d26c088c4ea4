#include "cache/reconcile.h"

#include <set>
#include <string>

#include "cache/file_blob_store.h"
#include "cache/index.h"

namespace regcache::cache {

ReconcileReport reconcile(Index &index, FileBlobStore &store, std::chrono::seconds orphanGrace) {
  ReconcileReport report;
  auto indexed = index.allDigests();
  if (!indexed.ok()) return report;
  std::set<std::string> rows(indexed->begin(), indexed->end());
  auto newest = std::chrono::system_clock::now() - orphanGrace;
  for (const auto &digest : store.list()) {
    if (rows.erase(digest.toString()) != 0) continue;
    auto modified = store.modifiedAt(digest); // the file itself: store.list() follows no link
    if (!modified || (orphanGrace.count() != 0 && *modified > newest)) continue;
    if (store.remove(digest).ok()) ++report.orphanFiles;
  }
  for (const auto &digest : rows) { // rows left have no file
    if (index.removeBlob(digest).ok()) ++report.missingFiles;
  }
  if (auto dangling = index.removeDanglingTags(); dangling.ok()) report.danglingTags = *dangling;
  return report;
}

} // namespace regcache::cache
