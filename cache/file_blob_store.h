#pragma once
// The blob store on a local filesystem:
//   <data-dir>/blobs/sha256/<2 hex>/<64 hex>   committed blobs
//   <data-dir>/tmp/                            fills in progress (removed at start-up)
// Commit is fsync of the file, rename into place, and fsync of the directory, so a crash at
// any moment leaves either no blob or a complete, verified one.
// No operation follows a symlink inside the store: listing, sweeping, reading and removing use
// directory descriptors and *at() calls with O_NOFOLLOW / AT_SYMLINK_NOFOLLOW.
#include <chrono>
#include <filesystem>
#include <optional>

#include "base/unique_fd.h"
#include "cache/blob_store.h"

namespace regcache::cache {

class FileBlobStore final : public BlobStore {
public:
  // Creates the directories. Throws std::runtime_error if it cannot, or if blobs/, blobs/sha256
  // or tmp/ is a symlink (start-up only).
  explicit FileBlobStore(std::filesystem::path dataDir);

  Result<std::unique_ptr<BlobWriter>> create() override;
  bool contains(const Digest &digest) const override;
  Result<int> openForRead(const Digest &digest) const override;
  Result<void> remove(const Digest &digest) override;
  std::vector<Digest> list() const override;
  std::size_t removeLeftovers() override;

  std::filesystem::path pathOf(const Digest &digest) const;
  // When the blob's file (not a link's target) was last written; nullopt if it is not there.
  std::optional<std::chrono::system_clock::time_point> modifiedAt(const Digest &digest) const;

private:
  // blobs/sha256/<2 hex>/ for `digest`, opened without following links; kNotFound if absent.
  Result<UniqueFd> openPrefix(const Digest &digest) const;

  std::filesystem::path blobs_;
  std::filesystem::path tmp_;
};

} // namespace regcache::cache
