#include "cache/file_blob_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>

#include "base/unique_fd.h"

namespace regcache::cache {
namespace fs = std::filesystem;
namespace {

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
  std::error_code ec;
  return fs::is_regular_file(pathOf(digest), ec);
}

Result<int> FileBlobStore::openForRead(const Digest &digest) const {
  int fd = ::open(pathOf(digest).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return fail(errno == ENOENT ? Error::kNotFound : Error::kIo,
                "open " + pathOf(digest).string() + ": " + std::strerror(errno));
  }
  return fd;
}

Result<void> FileBlobStore::remove(const Digest &digest) {
  if (::unlink(pathOf(digest).c_str()) != 0 && errno != ENOENT) {
    return fail(Error::kIo, "unlink " + pathOf(digest).string() + ": " + std::strerror(errno));
  }
  return {};
}

std::vector<Digest> FileBlobStore::list() const {
  std::vector<Digest> digests;
  std::error_code ec;
  for (const auto &prefix : fs::directory_iterator(blobs_, ec)) {
    for (const auto &file : fs::directory_iterator(prefix.path(), ec)) {
      if (auto digest = parseDigest("sha256:" + file.path().filename().string())) {
        digests.push_back(*digest);
      }
    }
  }
  return digests;
}

std::size_t FileBlobStore::removeLeftovers() {
  std::size_t removed = 0;
  std::error_code ec;
  for (const auto &entry : fs::directory_iterator(tmp_, ec)) {
    if (fs::remove(entry.path(), ec)) ++removed;
  }
  return removed;
}

} // namespace regcache::cache
