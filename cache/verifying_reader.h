#pragma once
// A reader of a blob in the remote tier (the bucket) that trusts no byte it did not hash. It
// reads in order from the first byte, hashes as the bytes stream, and withholds the chunk that
// holds the last byte until the SHA-256 and the size match the digest: so a client streaming
// from it never receives a complete body with wrong bytes. On a mismatch the read fails
// (kUpstream), the remote object is removed, and a loud log line says so.
//
// As it goes it also writes the bytes into the local tier (warming): the local commit completes
// before the last bytes are handed out, and `onWarmed` runs then: so when a reader has delivered
// the whole blob the local tier holds it verified (unless the local write failed: then it is
// simply not warmed, and `onWarmed` does not run).
//
// The size comes from the remote's stat, asked on the first read when the opener did not know
// it. Reads must be in order (offset == bytes delivered so far); anything else fails (kIo).
// tryReadNow always says "would block".
#include <cstdint>
#include <memory>
#include <optional>

#include "base/oci/digest.h"
#include "base/sha256.h"
#include "cache/blob_store.h"
#include "cache/completion_guard.h"
#include "cache/tier_counters.h"

namespace regcache::cache {

class VerifyingReader final : public BlobReader {
public:
  // `remote` (stat, remove on a mismatch) and `counters` must outlive the reader. `inner` reads
  // the remote object, completing on `completions`; `warm` (nullable) is a write of the same
  // digest into the local tier, made for `completions` too. `size`: the object's size when the
  // opener knows it. `onWarmed` (may be empty) runs on the owner's thread once the local tier
  // committed the verified blob, before the read that hands out its last bytes completes.
  // `onVerified` (may be empty) runs once every byte matched the digest.
  VerifyingReader(BlobStore &remote, Digest digest, std::optional<std::uint64_t> size,
                  std::unique_ptr<BlobReader> inner, std::unique_ptr<BlobWrite> warm,
                  CompletionQueue &completions, TierCounters &counters,
                  std::function<void()> onWarmed = {}, std::function<void()> onVerified = {});
  ~VerifyingReader() override;

  void read(std::uint64_t offset, std::size_t max, ReadDone done) override;
  std::optional<Result<std::span<const char>>> tryReadNow(std::uint64_t, std::size_t) override {
    return std::nullopt;
  }

  // Bytes hashed so far (tests, logs).
  std::uint64_t verifiedPrefix() const { return hashed_; }

private:
  void readInner(std::size_t max, ReadDone done);
  void onInner(Result<std::span<const char>> bytes, ReadDone done);
  // Every byte is hashed: check the digest, then commit the warm write, then hand out `last`.
  void finish(std::span<const char> last, ReadDone done);
  void fail(Failure failure, ReadDone done);
  void warmAppend(std::span<const char> bytes);
  void dropWarm(const std::string &why);

  BlobStore &remote_;
  Digest digest_;
  std::optional<std::uint64_t> size_;
  std::unique_ptr<BlobReader> inner_;
  std::unique_ptr<BlobWrite> warm_;
  TierCounters &counters_;
  std::function<void()> onWarmed_;
  std::function<void()> onVerified_;
  Sha256 hasher_;
  std::uint64_t hashed_ = 0;
  std::uint64_t warmPending_ = 0;               // bytes appended to warm_ not yet stored
  std::optional<std::function<void()>> resume_; // a read waiting for warm_ to catch up
  std::optional<Failure> failed_;               // sticky: every later read fails the same way
  CompletionGuard guard_;                       // last: its completions die first
};

} // namespace regcache::cache
