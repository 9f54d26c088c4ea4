#include "cache/file_blob_store_open_files.h"

#include <sys/stat.h>

#include <utility>
#include <vector>

namespace regcache::cache {
namespace {

// The size of the open regular file `fd`, or nullopt once its last link is gone (removed or
// renamed over) or fstat fails.
std::optional<std::uint64_t> linkedSize(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_nlink == 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return static_cast<std::uint64_t>(st.st_size);
}

} // namespace

OpenBlobFiles::OpenBlobFiles(std::size_t capacity) : enabled_(capacity != 0), files_(capacity) {}

std::shared_ptr<ReadableFile> OpenBlobFiles::find(const Digest &digest) {
  if (!enabled_) return nullptr;
  std::shared_ptr<ReadableFile> file;
  {
    std::lock_guard lock(mutex_);
    file = files_.get(digest.hex).value_or(nullptr);
  }
  if (!file) return nullptr;
  // fstat outside the lock: the other loops' hits do not wait on it.
  auto size = linkedSize(file->fd.get());
  if (!size) {
    std::lock_guard lock(mutex_);
    // Only this very entry: another thread may have kept a fresh one meanwhile.
    if (files_.get(digest.hex).value_or(nullptr) == file) files_.erase(digest.hex);
    return nullptr;
  }
  file->readable.store(*size, std::memory_order_release);
  return file;
}

void OpenBlobFiles::keep(const Digest &digest, std::shared_ptr<ReadableFile> file) {
  if (!enabled_) return;
  std::shared_ptr<ReadableFile> replaced; // closed after the lock is released
  std::lock_guard lock(mutex_);
  replaced = files_.get(digest.hex).value_or(nullptr);
  files_.put(digest.hex, std::move(file));
}

void OpenBlobFiles::drop(const Digest &digest) {
  std::shared_ptr<ReadableFile> dropped;
  std::lock_guard lock(mutex_);
  dropped = files_.get(digest.hex).value_or(nullptr);
  files_.erase(digest.hex);
}

std::size_t OpenBlobFiles::sweepUnlinked() {
  std::vector<std::pair<std::string, std::shared_ptr<ReadableFile>>> entries;
  {
    std::lock_guard lock(mutex_);
    entries = files_.entries();
  }
  std::size_t dropped = 0;
  for (auto &[hex, file] : entries) {
    if (linkedSize(file->fd.get())) continue;
    std::lock_guard lock(mutex_);
    if (files_.get(hex).value_or(nullptr) == file) {
      files_.erase(hex);
      ++dropped;
    }
  }
  return dropped; // `entries` goes last: the unlinked descriptors close here, outside the lock
}

std::size_t OpenBlobFiles::size() const {
  std::lock_guard lock(mutex_);
  return files_.size();
}

} // namespace regcache::cache
