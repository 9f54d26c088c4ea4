#include "base/data_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace regcache {
namespace {

std::filesystem::path lockPath(const std::filesystem::path &dataDir) { return dataDir / "lock"; }

Result<UniqueFd> openLockFile(const std::filesystem::path &dataDir) {
  auto path = lockPath(dataDir);
  // O_NOFOLLOW: a symlink planted as `lock` must not make root create or truncate its target.
  constexpr int kFlags = O_CLOEXEC | O_NOFOLLOW;
  UniqueFd fd(::open(path.c_str(), O_RDWR | kFlags));
  // flock needs no write access: a lock file someone else owns (root ran `cache gc` first) is
  // still lockable read-only; only the PID cannot be written then.
  if (!fd && errno == EACCES) fd.reset(::open(path.c_str(), O_RDONLY | kFlags));
  if (!fd && errno == ENOENT) {
    fd.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | kFlags, 0644));
    if (!fd && errno == EEXIST) fd.reset(::open(path.c_str(), O_RDWR | kFlags)); // a racing creator
    // Created by root next to a server that runs as the data dir's owner: hand it over.
    struct stat dir {};
    if (fd && ::geteuid() == 0 && ::stat(dataDir.c_str(), &dir) == 0) {
      (void)::fchown(fd.get(), dir.st_uid, dir.st_gid);
    }
  }
  if (!fd) return fail(Error::kIo, "open " + path.string() + ": " + std::strerror(errno));
  return fd;
}

bool tryFlock(int fd, int operation) {
  int rc;
  do {
    rc = ::flock(fd, operation | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  return rc == 0;
}

} // namespace

std::string DataDirLock::serverHolder(const std::filesystem::path &dataDir) {
  std::ifstream in(lockPath(dataDir));
  long pid = 0;
  if (!(in >> pid) || pid <= 0) return "";
  return "pid " + std::to_string(pid);
}

Result<DataDirLock> DataDirLock::lockForServer(const std::filesystem::path &dataDir) {
  auto fd = openLockFile(dataDir);
  if (!fd.ok()) return fd.failure();
  int raw = fd->get();
  if (!tryFlock(raw, LOCK_EX)) {
    if (errno != EWOULDBLOCK) {
      return fail(Error::kIo, "flock " + lockPath(dataDir).string() + ": " + std::strerror(errno));
    }
    // A shared lock is still free only while the holders are cache commands.
    if (tryFlock(raw, LOCK_SH)) {
      return fail(Error::kPolicy, "the data dir " + dataDir.string() +
                                      " is in use by a `regcache cache gc` or `cache verify`; "
                                      "start the server when it has finished");
    }
    std::string holder = serverHolder(dataDir);
    return fail(Error::kPolicy, "another regcache server" +
                                    (holder.empty() ? std::string() : " (" + holder + ")") +
                                    " is running on the data dir " + dataDir.string() +
                                    " (it holds " + lockPath(dataDir).string() + ")");
  }
  // Only the holder writes the file, so a reader never sees another server's PID half-written.
  // Best effort: the lock, not the PID, is what keeps a second server out.
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(raw, 0) == 0) (void)::pwrite(raw, pid.data(), pid.size(), 0);
  return DataDirLock(std::move(fd.value()));
}

Result<std::optional<DataDirLock>>
DataDirLock::tryLockShared(const std::filesystem::path &dataDir) {
  auto fd = openLockFile(dataDir);
  if (!fd.ok()) return fd.failure();
  if (!tryFlock(fd->get(), LOCK_SH)) {
    if (errno == EWOULDBLOCK) return std::optional<DataDirLock>();
    return fail(Error::kIo, "flock " + lockPath(dataDir).string() + ": " + std::strerror(errno));
  }
  return std::optional<DataDirLock>(DataDirLock(std::move(fd.value())));
}

} // namespace regcache
