#pragma once
// Eviction in a shared bucket (regcache store gc). Use is recorded by markers: a host that
// serves a blob PUTs PREFIX/used/sha256/<hex> (S3BlobStore::markUsed, at most once an interval),
// so a blob's last use is the later of its own LastModified (its upload) and its marker's.
// Markers need no tagging support (RGW, MinIO and R2 differ there) and cost one tiny object per
// blob. A blob unused for longer than the cut-off goes with its marker; a marker without a blob
// goes too; multipart uploads begun before the cut-off are aborted (abandoned by their host).
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "cache/s3/s3_blob_store.h"

namespace regcache::cache::s3 {

struct GcReport {
  std::vector<std::string> blobsRemoved; // "sha256:<hex>"
  std::uint64_t bytesRemoved = 0;
  std::size_t blobsKept = 0;
  std::vector<std::string> markersRemoved; // orphans: "sha256:<hex>"
  std::vector<std::string> uploadsAborted; // keys
  std::size_t failures = 0;                // deletions that failed (logged)
};

// Blocking. `dryRun`: reports what it would do and changes nothing. Fails when a listing fails
// (nothing is removed then).
Result<GcReport> collectGarbage(S3BlobStore &store, std::chrono::system_clock::time_point cutoff,
                                bool dryRun);

} // namespace regcache::cache::s3
