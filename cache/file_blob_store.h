#pragma once
// The blob store on a local filesystem:
//   <data-dir>/blobs/sha256/<2 hex>/<64 hex>   committed blobs
//   <data-dir>/tmp/                            fills in progress (removed at start-up)
// Commit is fsync of the file, rename into place, and fsync of the directory, so a crash at
// any moment leaves either no blob or a complete, verified one.
#include <filesystem>

#include "cache/blob_store.h"

namespace regcache::cache {

class FileBlobStore final : public BlobStore {
public:
  // Creates the directories. Throws std::runtime_error if it cannot (start-up only).
  explicit FileBlobStore(std::filesystem::path dataDir);

  Result<std::unique_ptr<BlobWriter>> create() override;
  bool contains(const Digest &digest) const override;
  Result<int> openForRead(const Digest &digest) const override;
  Result<void> remove(const Digest &digest) override;
  std::vector<Digest> list() const override;
  std::size_t removeLeftovers() override;

  std::filesystem::path pathOf(const Digest &digest) const;

private:
  std::filesystem::path blobs_;
  std::filesystem::path tmp_;
};

} // namespace regcache::cache
