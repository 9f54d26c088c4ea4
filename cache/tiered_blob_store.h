#pragma once
// Two tiers behind one BlobStore: a local one (the host's disk, bounded by --cache-max-size
// through the evictor and this host's index) in front of a remote one that a fleet of hosts
// shares (an S3-API bucket). See docs/fleet.md.
//
// - Writes go to both. The fill streams to its clients from the local write, and the local
//   commit is what it waits for; the remote upload is committed after it (so it completes only
//   for bytes the local tier verified), and its failure never fails the write: a log line and
//   TierCounters::uploadsAborted. A remote with beginCopy (the S3 store) reads the upload's
//   bytes from the local write's file and trusts the local commit's verification; any other is
//   handed a copy of each append, and dropped from the write when it falls too far behind.
// - openReader: the local tier if it has the blob (a local hit never touches the remote);
//   otherwise the remote object through a VerifyingReader, which hashes as it streams, withholds
//   the last bytes until they verify, and warms the local tier as it goes.
// - stat: local, then remote. remove: both. list: the union. removeLeftovers: the local tier
//   (the bucket's unfinished uploads may be other hosts' fills in flight: `store gc` ages them).
// - A remote that fails or is slow is a remote that has nothing: every operation goes on with
//   the local tier (counted in TierCounters::fallbacks). Timeouts are the remote store's own.
//
// The evictor and the start-up reconcile work on local() alone: a host evicts and reconciles its
// own tier, never the shared bucket (that is `regcache store gc`).
#include <functional>
#include <memory>

#include "cache/blob_store.h"
#include "cache/tier_counters.h"

namespace regcache::cache {

class UploadsInFlight;

class TieredBlobStore final : public BlobStore {
public:
  // Both tiers must outlive every handle this store hands out (they are shared: tests give
  // several stores one remote).
  // `markUsed` (may be empty; any thread) records that the fleet used a blob of the remote tier,
  // for `regcache store gc`: called when a remote read verified and when an upload completed.
  TieredBlobStore(std::shared_ptr<BlobStore> local, std::shared_ptr<BlobStore> remote,
                  std::function<void(const Digest &)> markUsed = {});
  ~TieredBlobStore() override;

  Result<std::unique_ptr<BlobWrite>> begin(const Digest &digest,
                                           CompletionQueue &completions) override;
  Result<std::unique_ptr<BlobReader>> openReader(const Digest &digest,
                                                 CompletionQueue &completions) override;
  void stat(const Digest &digest, CompletionQueue &completions, Done<BlobInfo> done) override;
  void remove(const Digest &digest, CompletionQueue &completions, Done<void> done) override;
  void list(CompletionQueue &completions, Done<std::vector<BlobInfo>> done) override;
  void removeLeftovers(CompletionQueue &completions, Done<std::size_t> done) override;

  // The remote tier alone (the proxy's bucket lookup: a local miss asks it before upstream).
  void statRemote(const Digest &digest, CompletionQueue &completions, Done<BlobInfo> done);
  // A reader of the remote object whose size the caller learned from statRemote: verified and
  // warming, like openReader's on a local miss, without asking the size again. `onWarmed`: see
  // VerifyingReader (the proxy indexes the blob then).
  Result<std::unique_ptr<BlobReader>> openRemoteReader(const Digest &digest, std::uint64_t size,
                                                       CompletionQueue &completions,
                                                       std::function<void()> onWarmed = {});

  BlobStore &local() { return *local_; }
  BlobStore &remote() { return *remote_; }
  // Counted into by the store, its handles, and the proxy (a bucket too slow to answer).
  TierCounters &counters() const { return *counters_; }

private:
  Result<std::unique_ptr<BlobReader>> openVerified(const Digest &digest,
                                                   std::optional<std::uint64_t> size,
                                                   CompletionQueue &completions,
                                                   std::function<void()> onWarmed);

  std::shared_ptr<BlobStore> local_;
  std::shared_ptr<BlobStore> remote_;
  std::function<void(const Digest &)> markUsed_;
  std::shared_ptr<UploadsInFlight> uploads_; // shared with the uploads, which may outlive this
  // Shared with uploads that finish after their write handle (and maybe this store) is gone.
  std::shared_ptr<TierCounters> counters_ = std::make_shared<TierCounters>();
};

} // namespace regcache::cache
