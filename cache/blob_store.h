#pragma once
// Where blob bytes live, behind a small interface so an object store (S3 API) can be added for
// fleets that share one. A blob becomes visible only through BlobWriter::commit, after its
// digest and length were checked; until then it is a temp file that nobody can read.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "cache/digest.h"

namespace regcache::cache {

class BlobWriter {
public:
  virtual ~BlobWriter() = default; // an uncommitted writer removes its temp data
  // Appends bytes; hashes them as they go.
  virtual Result<void> write(std::string_view data) = 0;
  virtual std::uint64_t written() const = 0;
  // Where concurrent readers can follow the bytes written so far (until commit renames it; an
  // open descriptor stays valid across the rename).
  virtual std::filesystem::path followPath() const = 0;
  // Makes the blob durable and visible, only if the bytes hash to `expected` and, when given,
  // their count equals expectedSize. On mismatch nothing is kept (kUpstream).
  virtual Result<void> commit(const Digest &expected,
                              std::optional<std::uint64_t> expectedSize) = 0;
};

class BlobStore {
public:
  virtual ~BlobStore() = default;
  virtual Result<std::unique_ptr<BlobWriter>> create() = 0;
  virtual bool contains(const Digest &digest) const = 0;
  // A file descriptor open for reading, owned by the caller, or kNotFound.
  virtual Result<int> openForRead(const Digest &digest) const = 0;
  virtual Result<void> remove(const Digest &digest) = 0;
  // Every committed digest.
  virtual std::vector<Digest> list() const = 0;
  // Deletes temp files left by a crash; returns how many.
  virtual std::size_t removeLeftovers() = 0;
};

} // namespace regcache::cache
