#include "cache/file_blob_handles.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/oci/digest.h"
#include "base/sha256.h"

namespace regcache::cache {
namespace {

// What may be read at `offset` now: up to `max` bytes, not past what the file holds.
Result<std::size_t> readableAt(const ReadableFile &file, std::uint64_t offset, std::size_t max) {
  if (file.gone.load(std::memory_order_acquire)) {
    return fail(Error::kNotFound, "the blob's write was abandoned");
  }
  std::uint64_t end = file.readable.load(std::memory_order_acquire);
  if (offset >= end) return std::size_t{0};
  return static_cast<std::size_t>(std::min<std::uint64_t>(end - offset, max));
}

// pread until `want` bytes or the end of the file; -1 with errno on an error.
ssize_t readFully(int fd, char *into, std::size_t want, std::uint64_t offset) {
  std::size_t got = 0;
  while (got < want) {
    ssize_t n = ::pread(fd, into + got, want - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  return static_cast<ssize_t>(got);
}

Failure readFailure(ssize_t n) {
  return n < 0 ? fail(Error::kIo, std::string("read: ") + std::strerror(errno))
               : fail(Error::kNotFound, "the blob is shorter than it was");
}

} // namespace

FileBlobReader::FileBlobReader(std::shared_ptr<const ReadableFile> file, IoPool &pool,
                               CompletionQueue &completions, bool noWait)
    : file_(std::move(file)), pool_(pool), noWait_(noWait), guard_(completions) {}

void FileBlobReader::read(std::uint64_t offset, std::size_t max, ReadDone done) {
  auto want = readableAt(*file_, offset, max);
  if (!want.ok() || *want == 0) {
    // Nothing to do on a disk; still completed through the queue, never inline.
    Result<std::span<const char>> result =
        want.ok() ? Result<std::span<const char>>(std::span<const char>()) : want.failure();
    guard_.post([result = std::move(result), done = std::move(done)] { done(result); });
    return;
  }
  if (buffer_->size() < *want) buffer_->resize(*want);
  pool_.post([file = file_, buffer = buffer_, offset, want = *want, done = std::move(done),
              poster = guard_.poster()]() mutable {
    ssize_t n = readFully(file->fd.get(), buffer->data(), want, offset);
    Result<std::span<const char>> result =
        n == static_cast<ssize_t>(want)
            ? Result<std::span<const char>>(std::span<const char>(buffer->data(), want))
            : Result<std::span<const char>>(readFailure(n));
    poster.post([result = std::move(result), done = std::move(done)] { done(result); });
  });
}

std::optional<Result<std::span<const char>>> FileBlobReader::tryReadNow(std::uint64_t offset,
                                                                        std::size_t max) {
  auto want = readableAt(*file_, offset, max);
  if (!want.ok()) return Result<std::span<const char>>(want.failure());
  if (*want == 0) return Result<std::span<const char>>(std::span<const char>());
  if (!noWait_) return std::nullopt;
  if (buffer_->size() < *want) buffer_->resize(*want);
  iovec into{buffer_->data(), *want};
  ssize_t n;
  do {
    n = ::preadv2(file_->fd.get(), &into, 1, static_cast<off_t>(offset), RWF_NOWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL)) {
    noWait_ = false; // this filesystem cannot say "not cached": always use the pool
    return std::nullopt;
  }
  if (n < 0 && errno == EAGAIN) return std::nullopt;
  if (n == 0) return std::nullopt; // not in the page cache at all (some kernels say 0)
  if (n < 0) return Result<std::span<const char>>(readFailure(n));
  // A short read is what the page cache held: the caller asks again for the rest.
  return Result<std::span<const char>>(
      std::span<const char>(buffer_->data(), static_cast<std::size_t>(n)));
}

Result<std::size_t> FileStoredBytes::readAt(std::uint64_t offset, std::span<char> into) const {
  auto want = readableAt(*file_, offset, into.size());
  if (!want.ok() || *want == 0) return want;
  ssize_t n = readFully(file_->fd.get(), into.data(), *want, offset);
  if (n != static_cast<ssize_t>(*want)) return readFailure(n);
  return *want;
}

// What the write's jobs share. Only the strand's jobs touch the hasher, `failed` and the name;
// the handle reads nothing here but `file` (for readers) and sets `abandoned`.
struct FileBlobWrite::State {
  Digest digest;
  std::shared_ptr<ReadableFile> file;
  std::string tempName;
  std::shared_ptr<const FileBlobStore::Dirs> dirs;
  Sha256 hasher;
  std::uint64_t written = 0;
  std::optional<Failure> failed; // the first append that failed
  bool finished = false;         // committed or removed: nothing left in tmp/
  bool committed = false;        // in place under blobs/
  std::atomic<bool> abandoned{false};

  // Disk writeback started up to here (startWriteback), every kWritebackStep bytes.
  static constexpr std::uint64_t kWritebackStep = 8u << 20;
  std::uint64_t writebackFrom = 0;
  bool writebackWorks = true;

  Result<void> write(const std::string &bytes);
  void startWriteback();
  Result<void> commit(std::optional<std::uint64_t> expectedSize);
  // Readers stop (unless the blob is in place) and the temp file goes.
  void discard();
  // The temp file goes; readers keep reading its verified bytes until the handle goes (a
  // client that fell behind the fill still gets them).
  void removeTemp();
};

Result<void> FileBlobWrite::State::write(const std::string &bytes) {
  if (failed) return *failed;
  std::string_view rest = bytes;
  while (!rest.empty()) {
    ssize_t n = ::pwrite(file->fd.get(), rest.data(), rest.size(), static_cast<off_t>(written));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      failed = fail(Error::kIo, "write tmp/" + tempName + ": " + std::strerror(errno));
      return *failed;
    }
    hasher.update(rest.substr(0, static_cast<std::size_t>(n)));
    written += static_cast<std::uint64_t>(n);
    rest.remove_prefix(static_cast<std::size_t>(n));
    file->readable.store(written, std::memory_order_release);
  }
  startWriteback();
  return {};
}

void FileBlobWrite::State::startWriteback() {
  if (!writebackWorks || written - writebackFrom < kWritebackStep) return;
  // Starts the disk write of what was written since the last call, without waiting for it: the
  // commit's fsync then finds only the last step and the metadata left (it took 0.5 s for 1 GiB,
  // on the response's path, when the whole blob was still dirty).
  if (::sync_file_range(file->fd.get(), static_cast<off_t>(writebackFrom),
                        static_cast<off_t>(written - writebackFrom), SYNC_FILE_RANGE_WRITE) != 0) {
    writebackWorks = false; // a filesystem without it: the fsync does it all, as before
    return;
  }
  writebackFrom = written;
}

void FileBlobWrite::State::discard() {
  if (!committed) file->gone.store(true, std::memory_order_release);
  removeTemp();
}

void FileBlobWrite::State::removeTemp() {
  if (finished) return;
  finished = true;
  ::unlinkat(dirs->tmp.get(), tempName.c_str(), 0);
}

Result<void> FileBlobWrite::State::commit(std::optional<std::uint64_t> expectedSize) {
  if (failed) {
    discard();
    return *failed;
  }
  std::string actual = hasher.finishHex();
  if (actual != digest.hex) {
    discard();
    return fail(Error::kUpstream,
                "digest mismatch: expected " + digest.toString() + ", got sha256:" + actual);
  }
  if (expectedSize && *expectedSize != written) {
    discard();
    return fail(Error::kUpstream, "length mismatch: expected " + std::to_string(*expectedSize) +
                                      " bytes, got " + std::to_string(written));
  }
  // From here the bytes are verified: a failure keeps them readable until the handle goes.
  if (::fsync(file->fd.get()) != 0) {
    removeTemp();
    return fail(Error::kIo, "fsync tmp/" + tempName + ": " + std::strerror(errno));
  }
  if (abandoned.load(std::memory_order_acquire)) { // its owner went: keep nothing
    discard();
    return fail(Error::kIo, "abandoned");
  }
  std::string prefixName = digest.hex.substr(0, 2);
  bool created = ::mkdirat(dirs->blobs.get(), prefixName.c_str(), 0755) == 0;
  UniqueFd prefix(::openat(dirs->blobs.get(), prefixName.c_str(),
                           O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!prefix) {
    removeTemp();
    return fail(Error::kIo, "open blobs/sha256/" + prefixName + ": " + std::strerror(errno));
  }
  if (created) ::fsync(dirs->blobs.get()); // the new prefix directory survives a crash too
  if (::renameat(dirs->tmp.get(), tempName.c_str(), prefix.get(), digest.hex.c_str()) != 0) {
    removeTemp();
    return fail(Error::kIo, "rename to blobs/sha256/" + prefixName + "/" + digest.hex + ": " +
                                std::strerror(errno));
  }
  finished = true;
  committed = true;
  if (::fsync(prefix.get()) != 0) {
    return fail(Error::kIo, "fsync blobs/sha256/" + prefixName + ": " + std::strerror(errno));
  }
  return {};
}

FileBlobWrite::FileBlobWrite(Digest digest, UniqueFd fd, std::string tempName,
                             std::shared_ptr<const FileBlobStore::Dirs> dirs, IoPool &pool,
                             CompletionQueue &completions, bool noWait)
    : state_(std::make_shared<State>()), strand_(pool.strand()), pool_(pool), noWait_(noWait),
      guard_(completions) {
  state_->digest = std::move(digest);
  state_->file = std::make_shared<ReadableFile>();
  state_->file->fd = std::move(fd);
  state_->tempName = std::move(tempName);
  state_->dirs = std::move(dirs);
}

FileBlobWrite::~FileBlobWrite() {
  // An uncommitted write, or one whose commit has not finished, leaves nothing behind.
  state_->abandoned.store(true, std::memory_order_release);
  strand_->post([state = state_] { state->discard(); });
}

void FileBlobWrite::append(std::string bytes, Done done) {
  std::uint64_t size = bytes.size();
  strand_->post([state = state_, bytes = std::move(bytes), size, this, done = std::move(done),
                 poster = guard_.poster()]() mutable {
    Result<void> stored = state->write(bytes);
    // Runs on the owner's thread, and only while this handle lives (the guard's promise), so
    // `this` is safe to use there; this job itself never touches it.
    poster.post([this, stored, size, done = std::move(done)] {
      if (stored.ok()) appended_ += size;
      done(stored);
    });
  });
}

void FileBlobWrite::commit(std::optional<std::uint64_t> expectedSize, Done done) {
  if (committing_) {
    guard_.post(
        [done = std::move(done)] { done(fail(Error::kInternal, "a second commit of one write")); });
    return;
  }
  committing_ = true;
  strand_->post(
      [state = state_, expectedSize, done = std::move(done), poster = guard_.poster()]() mutable {
        Result<void> committed = state->commit(expectedSize);
        poster.post([committed, done = std::move(done)] { done(committed); });
      });
}

Result<std::unique_ptr<BlobReader>> FileBlobWrite::openReader(CompletionQueue &completions) {
  return std::unique_ptr<BlobReader>(new FileBlobReader(state_->file, pool_, completions, noWait_));
}

std::shared_ptr<BlobReaderSource> FileBlobWrite::readerSource() {
  return std::make_shared<FileReaderSource>(state_->file, pool_, noWait_);
}

std::shared_ptr<const StoredBytes> FileBlobWrite::storedBytes() {
  return std::make_shared<FileStoredBytes>(state_->file);
}

} // namespace regcache::cache
