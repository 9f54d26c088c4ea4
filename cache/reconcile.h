#pragma once
// Brings the index and the blob files back into agreement: a file committed but never indexed (a
// crash between the rename and the row) is an orphan, and a row whose file is gone (deleted by
// hand, a disk replaced) would promise what cannot be served. Both go. Run with no grace period
// only while the data dir lock (base/data_dir_lock.h) shows no other server: at start-up, and by
// `regcache cache gc` when it got the lock; next to a running server with one, because a live
// fill's file exists for a moment before its row does. The store's listing follows no symlink.
#include <chrono>
#include <cstddef>

namespace regcache::cache {

class Index;
class BlobStore;

struct ReconcileReport {
  std::size_t orphanFiles = 0;
  std::size_t missingFiles = 0;
  std::size_t danglingTags = 0;
};

ReconcileReport reconcile(Index &index, BlobStore &store,
                          std::chrono::seconds orphanGrace = std::chrono::seconds(0));

} // namespace regcache::cache
