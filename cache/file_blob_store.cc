#include "cache/file_blob_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>

#include "base/handle.h"
#include "base/unique_fd.h"

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
  int copy = ::dup(fd); // closedir closes the descriptor it was given
  if (copy < 0) return names;
  DirPtr dir(::fdopendir(copy)); // owns `copy` from here on
  if (!dir) {
    ::close(copy);
    return names;
  }
  while (dirent *entry = ::readdir(dir.get())) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  return names;
}

bool isRegularFile(int at, const std::string &name) {
  struct stat st {};
  return ::fstatat(at, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

// A store directory must be a real directory: refuse to build the store on a symlink.
void requireRealDirectory(const fs::path &path) {
  std::error_code ec;
  auto status = fs::symlink_status(path, ec);
  if (ec || !fs::is_directory(status)) {
    throw std::runtime_error(path.string() + " is not a directory (a symlink is not followed)");
  }
}

Result<void> fsyncDirectory(const fs::path &dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd || ::fsync(fd.get()) != 0) {
    return fail(Error::kIo, "fsync " + dir.string() + ": " + std::strerror(errno));
  }
  return {};
}

class FileBlobWriter final : public BlobWriter {
public:
  FileBlobWriter(UniqueFd fd, fs::path temp, const FileBlobStore &store)
      : fd_(std::move(fd)), temp_(std::move(temp)), store_(store) {}

  ~FileBlobWriter() override {
    if (!committed_) ::unlink(temp_.c_str());
  }

  Result<void> write(std::string_view data) override {
    while (!data.empty()) {
      ssize_t n = ::write(fd_.get(), data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail(Error::kIo, "write " + temp_.string() + ": " + std::strerror(errno));
      }
      hasher_.update(data.substr(0, static_cast<std::size_t>(n)));
      written_ += static_cast<std::uint64_t>(n);
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
  }

  std::uint64_t written() const override { return written_; }
  fs::path followPath() const override { return temp_; }

  Result<void> commit(const Digest &expected, std::optional<std::uint64_t> expectedSize) override {
    std::string actual = hasher_.finishHex();
    if (actual != expected.hex) {
      return fail(Error::kUpstream,
                  "digest mismatch: expected " + expected.toString() + ", got sha256:" + actual);
    }
    if (expectedSize && *expectedSize != written_) {
      return fail(Error::kUpstream, "length mismatch: expected " + std::to_string(*expectedSize) +
                                        " bytes, got " + std::to_string(written_));
    }
    if (::fsync(fd_.get()) != 0) {
      return fail(Error::kIo, "fsync " + temp_.string() + ": " + std::strerror(errno));
    }
    fs::path final = store_.pathOf(expected);
    std::error_code ec;
    fs::create_directories(final.parent_path(), ec);
    if (::rename(temp_.c_str(), final.c_str()) != 0) {
      return fail(Error::kIo, "rename to " + final.string() + ": " + std::strerror(errno));
    }
    committed_ = true;
    return fsyncDirectory(final.parent_path());
  }

private:
  UniqueFd fd_;
  fs::path temp_;
  const FileBlobStore &store_;
  Sha256 hasher_;
  std::uint64_t written_ = 0;
  bool committed_ = false;
};

} // namespace

FileBlobStore::FileBlobStore(fs::path dataDir)
    : blobs_(dataDir / "blobs" / "sha256"), tmp_(dataDir / "tmp") {
  std::error_code ec;
  fs::create_directories(blobs_, ec);
  if (!ec) fs::create_directories(tmp_, ec);
  if (ec) throw std::runtime_error("cannot create the blob store in " + dataDir.string());
  for (const auto &dir : {dataDir / "blobs", blobs_, tmp_})
    requireRealDirectory(dir);
}

Result<UniqueFd> FileBlobStore::openPrefix(const Digest &digest) const {
  UniqueFd blobs = openDirectory(AT_FDCWD, blobs_.c_str());
  UniqueFd prefix =
      blobs ? openDirectory(blobs.get(), digest.hex.substr(0, 2).c_str()) : UniqueFd();
  if (!prefix) {
    return fail(errno == ENOENT ? Error::kNotFound : Error::kIo,
                "open " + pathOf(digest).parent_path().string() + ": " + std::strerror(errno));
  }
  return prefix;
}

fs::path FileBlobStore::pathOf(const Digest &digest) const {
  return blobs_ / digest.hex.substr(0, 2) / digest.hex;
}

Result<std::unique_ptr<BlobWriter>> FileBlobStore::create() {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  fs::path temp = tmp_ / ("fill-" + std::to_string(random()));
  UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd) return fail(Error::kIo, "create " + temp.string() + ": " + std::strerror(errno));
  return std::unique_ptr<BlobWriter>(new FileBlobWriter(std::move(fd), temp, *this));
}

bool FileBlobStore::contains(const Digest &digest) const {
  auto prefix = openPrefix(digest);
  return prefix.ok() && isRegularFile(prefix->get(), digest.hex);
}

Result<int> FileBlobStore::openForRead(const Digest &digest) const {
  auto prefix = openPrefix(digest);
  if (!prefix.ok()) return prefix.failure();
  // O_NOFOLLOW: a blob that is a symlink is not served (its target's bytes are not the blob).
  int fd = ::openat(prefix->get(), digest.hex.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    return fail(errno == ENOENT ? Error::kNotFound : Error::kIo,
                "open " + pathOf(digest).string() + ": " + std::strerror(errno));
  }
  return fd;
}

Result<void> FileBlobStore::remove(const Digest &digest) {
  auto prefix = openPrefix(digest);
  if (!prefix.ok()) {
    if (prefix.failure().code == Error::kNotFound) return {};
    return prefix.failure();
  }
  if (::unlinkat(prefix->get(), digest.hex.c_str(), 0) != 0 && errno != ENOENT) {
    return fail(Error::kIo, "unlink " + pathOf(digest).string() + ": " + std::strerror(errno));
  }
  return {};
}

std::vector<Digest> FileBlobStore::list() const {
  std::vector<Digest> digests;
  UniqueFd blobs = openDirectory(AT_FDCWD, blobs_.c_str());
  if (!blobs) return digests;
  for (const auto &prefixName : entryNames(blobs.get())) {
    UniqueFd prefix = openDirectory(blobs.get(), prefixName.c_str()); // a symlink fails here
    if (!prefix) continue;
    for (const auto &name : entryNames(prefix.get())) {
      auto digest = parseDigest("sha256:" + name);
      // Only a regular file where pathOf() puts it is a blob.
      if (digest && digest->hex.compare(0, 2, prefixName) == 0 &&
          isRegularFile(prefix.get(), name)) {
        digests.push_back(*digest);
      }
    }
  }
  return digests;
}

std::optional<std::chrono::system_clock::time_point>
FileBlobStore::modifiedAt(const Digest &digest) const {
  auto prefix = openPrefix(digest);
  struct stat st {};
  if (!prefix.ok() || ::fstatat(prefix->get(), digest.hex.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return std::nullopt;
  }
  auto since =
      std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec);
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(since));
}

std::size_t FileBlobStore::removeLeftovers() {
  std::size_t removed = 0;
  UniqueFd tmp = openDirectory(AT_FDCWD, tmp_.c_str());
  if (!tmp) return 0;
  for (const auto &name : entryNames(tmp.get())) {
    // unlinkat without AT_REMOVEDIR removes a file or a symlink itself, never a link's target,
    // and leaves directories (never created here) alone.
    if (::unlinkat(tmp.get(), name.c_str(), 0) == 0) ++removed;
  }
  return removed;
}

} // namespace regcache::cache
