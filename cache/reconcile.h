#pragma once
// Brings the index and the blob files back into agreement: a file committed but never indexed (a
// crash between the rename and the row) is an orphan, and a row whose file is gone (deleted by
// hand, a disk replaced) would promise what cannot be served. Both go. Run at start-up with no
// grace period, and by `regcache cache gc` next to a running proxy with one, because a live
// fill's file exists for a moment before its row does.
#include <chrono>
#include <cstddef>

namespace regcache::cache {

class Index;
class FileBlobStore;

struct ReconcileReport {
  std::size_t orphanFiles = 0;
  std::size_t missingFiles = 0;
  std::size_t danglingTags = 0;
};

ReconcileReport reconcile(Index &index, FileBlobStore &store,
                          std::chrono::seconds orphanGrace = std::chrono::seconds(0));

} // namespace regcache::cache
