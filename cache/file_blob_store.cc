#include "cache/file_blob_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>

#include "base/handle.h"
#include "cache/file_blob_handles.h"
#include "cache/file_blob_store_open_files.h"

namespace regcache::cache {
namespace fs = std::filesystem;
namespace {

// Everything that walks or deletes in the store goes through directory descriptors opened with
// O_NOFOLLOW and *at() calls that do not follow links: a symlink planted anywhere in the store
// (tmp/, blobs/, a prefix directory, a blob) names only itself, never what it points to.
UniqueFd openDirectory(int at, const char *name) {
  return UniqueFd(::openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

using DirPtr = Handle<DIR, ::closedir>;

// The names in the directory `fd` (without "." and ".."); `fd` itself stays open and owned.
std::vector<std::string> entryNames(int fd) {
  std::vector<std::string> names;
  UniqueFd copy(::openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)); // its own offset
  if (!copy) return names;
  DirPtr dir(::fdopendir(copy.get()));
  if (!dir) return names;
  copy.release(); // closedir closes it from here on
  while (dirent *entry = ::readdir(dir.get())) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  return names;
}

// A regular file named `name` under `at`, never a link: its size and mtime.
std::optional<BlobInfo> regularFile(int at, const std::string &name, const Digest &digest) {
  struct stat st {};
  if (::fstatat(at, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
    return std::nullopt;
  }
  auto since =
      std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec);
  return BlobInfo{digest, static_cast<std::uint64_t>(st.st_size),
                  std::chrono::system_clock::time_point(
                      std::chrono::duration_cast<std::chrono::system_clock::duration>(since))};
}

// A store directory must be a real directory: refuse to build the store on a symlink.
void requireRealDirectory(const fs::path &path) {
  std::error_code ec;
  auto status = fs::symlink_status(path, ec);
  if (ec || !fs::is_directory(status)) {
    throw std::runtime_error(path.string() + " is not a directory (a symlink is not followed)");
  }
}

// blobs/sha256/<2 hex>/ for `digest`, opened without following links; kNotFound if absent.
Result<UniqueFd> openPrefix(const FileBlobStore::Dirs &dirs, const Digest &digest) {
  UniqueFd prefix = openDirectory(dirs.blobs.get(), digest.hex.substr(0, 2).c_str());
  if (!prefix) {
    return fail(errno == ENOENT ? Error::kNotFound : Error::kIo,
                "open blobs/sha256/" + digest.hex.substr(0, 2) + ": " + std::strerror(errno));
  }
  return prefix;
}

Result<BlobInfo> statBlob(const FileBlobStore::Dirs &dirs, const Digest &digest) {
  auto prefix = openPrefix(dirs, digest);
  if (!prefix.ok()) return prefix.failure();
  if (auto info = regularFile(prefix->get(), digest.hex, digest)) return *info;
  return fail(Error::kNotFound, digest.toString() + " is not in the store");
}

Result<void> removeBlob(const FileBlobStore::Dirs &dirs, const Digest &digest) {
  auto prefix = openPrefix(dirs, digest);
  if (!prefix.ok()) {
    if (prefix.failure().code == Error::kNotFound) return {};
    return prefix.failure();
  }
  if (::unlinkat(prefix->get(), digest.hex.c_str(), 0) != 0 && errno != ENOENT) {
    return fail(Error::kIo, "unlink " + digest.toString() + ": " + std::strerror(errno));
  }
  return {};
}

std::vector<BlobInfo> listBlobs(const FileBlobStore::Dirs &dirs) {
  std::vector<BlobInfo> blobs;
  for (const auto &prefixName : entryNames(dirs.blobs.get())) {
    UniqueFd prefix = openDirectory(dirs.blobs.get(), prefixName.c_str()); // a symlink fails
    if (!prefix) continue;
    for (const auto &name : entryNames(prefix.get())) {
      auto digest = parseDigest("sha256:" + name);
      // Only a regular file where the store puts it is a blob.
      if (!digest || digest->hex.compare(0, 2, prefixName) != 0) continue;
      if (auto info = regularFile(prefix.get(), name, *digest)) blobs.push_back(*info);
    }
  }
  return blobs;
}

std::size_t sweepTmp(const FileBlobStore::Dirs &dirs) {
  std::size_t removed = 0;
  for (const auto &name : entryNames(dirs.tmp.get())) {
    // unlinkat without AT_REMOVEDIR removes a file or a symlink itself, never a link's target,
    // and leaves directories (never created here) alone.
    if (::unlinkat(dirs.tmp.get(), name.c_str(), 0) == 0) ++removed;
  }
  return removed;
}

} // namespace

FileBlobStore::FileBlobStore(const fs::path &dataDir, FileBlobStoreOptions options)
    : options_(options), openFiles_(std::make_unique<OpenBlobFiles>(options.keptDescriptors)),
      pool_(options.ioThreads, "file-io") {
  fs::path blobs = dataDir / "blobs" / "sha256";
  fs::path tmp = dataDir / "tmp";
  std::error_code ec;
  fs::create_directories(blobs, ec);
  if (!ec) fs::create_directories(tmp, ec);
  if (ec) throw std::runtime_error("cannot create the blob store in " + dataDir.string());
  for (const auto &dir : {dataDir / "blobs", blobs, tmp})
    requireRealDirectory(dir);
  auto dirs = std::make_shared<Dirs>();
  UniqueFd blobsParent = openDirectory(AT_FDCWD, (dataDir / "blobs").c_str());
  dirs->blobs = blobsParent ? openDirectory(blobsParent.get(), "sha256") : UniqueFd();
  dirs->tmp = openDirectory(AT_FDCWD, tmp.c_str());
  if (!dirs->blobs || !dirs->tmp) {
    throw std::runtime_error("cannot open the blob store in " + dataDir.string() + ": " +
                             std::strerror(errno));
  }
  dirs_ = std::move(dirs);
  if (options_.keptDescriptors != 0) {
    sweeper_ = std::make_unique<PeriodicThread>(
        options_.keptDescriptorSweep, [files = openFiles_.get()] { files->sweepUnlinked(); });
    sweeper_->start();
  }
}

FileBlobStore::~FileBlobStore() = default;

std::size_t FileBlobStore::keptDescriptors() const { return openFiles_->size(); }

Result<std::unique_ptr<BlobWrite>> FileBlobStore::begin(const Digest &digest,
                                                        CompletionQueue &completions) {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  std::string name = "fill-" + std::to_string(random());
  // O_RDWR: readers of the write in progress pread this very descriptor.
  UniqueFd fd(::openat(dirs_->tmp.get(), name.c_str(),
                       O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd) return fail(Error::kIo, "create tmp/" + name + ": " + std::strerror(errno));
  return std::unique_ptr<BlobWrite>(new FileBlobWrite(digest, std::move(fd), std::move(name), dirs_,
                                                      pool_, completions, options_.readsOnCaller));
}

Result<std::unique_ptr<BlobReader>> FileBlobStore::openReader(const Digest &digest,
                                                              CompletionQueue &completions) {
  if (auto kept = openFiles_->find(digest)) {
    return std::unique_ptr<BlobReader>(
        new FileBlobReader(std::move(kept), pool_, completions, options_.readsOnCaller));
  }
  auto prefix = openPrefix(*dirs_, digest);
  if (!prefix.ok()) return prefix.failure();
  // O_NOFOLLOW: a blob that is a symlink is not served (its target's bytes are not the blob).
  auto file = std::make_shared<ReadableFile>();
  file->fd.reset(::openat(prefix->get(), digest.hex.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  struct stat st {};
  if (!file->fd || ::fstat(file->fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return fail(errno == ENOENT ? Error::kNotFound : Error::kIo,
                "open " + digest.toString() + ": " + std::strerror(errno));
  }
  file->readable.store(static_cast<std::uint64_t>(st.st_size), std::memory_order_release);
  openFiles_->keep(digest, file);
  return std::unique_ptr<BlobReader>(
      new FileBlobReader(std::move(file), pool_, completions, options_.readsOnCaller));
}

void FileBlobStore::stat(const Digest &digest, CompletionQueue &completions, Done<BlobInfo> done) {
  pool_.post([dirs = dirs_, digest, &completions, done = std::move(done)]() mutable {
    auto info = statBlob(*dirs, digest);
    completions.post([info = std::move(info), done = std::move(done)] { done(info); });
  });
}

void FileBlobStore::remove(const Digest &digest, CompletionQueue &completions, Done<void> done) {
  pool_.post([dirs = dirs_, files = openFiles_.get(), digest, &completions,
              done = std::move(done)]() mutable {
    auto removed = removeBlob(*dirs, digest);
    // After the unlink, so no open from now on keeps the removed file again; the descriptor
    // closes once the last reader of it goes, and with it the blob's disk space.
    files->drop(digest);
    completions.post([removed, done = std::move(done)] { done(removed); });
  });
}

void FileBlobStore::list(CompletionQueue &completions, Done<std::vector<BlobInfo>> done) {
  pool_.post([dirs = dirs_, &completions, done = std::move(done)]() mutable {
    auto blobs = listBlobs(*dirs);
    completions.post(
        [blobs = std::move(blobs), done = std::move(done)]() mutable { done(std::move(blobs)); });
  });
}

void FileBlobStore::removeLeftovers(CompletionQueue &completions, Done<std::size_t> done) {
  pool_.post([dirs = dirs_, &completions, done = std::move(done)]() mutable {
    std::size_t removed = sweepTmp(*dirs);
    completions.post([removed, done = std::move(done)] { done(removed); });
  });
}

} // namespace regcache::cache
