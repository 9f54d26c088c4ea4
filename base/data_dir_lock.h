#pragma once
// One data dir, one server. `serve` holds an exclusive flock on <data-dir>/lock for its whole
// life, so a second server on the same directory refuses to start instead of sweeping the first
// one's live temp files and fresh blobs at start-up. `cache gc` and `cache verify` try the same
// lock shared:
//   - they get it: no server runs, and none can start (it would refuse, naming them) until they
//     end, so they may clean tmp/ and files without a row with no grace period;
//   - a server holds it: they run beside it, touching only what is safe next to live fills
//     (never tmp/, never an unindexed file younger than their grace period).
// flock belongs to the open file, so the lock survives --user's setuid and is released by the
// kernel however the process ends: a crashed server never leaves a stale lock.
#include <filesystem>
#include <optional>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"

namespace regcache {

class DataDirLock {
public:
  // For `serve`: locks <dataDir>/lock exclusively (never waits) and writes this process's PID
  // into it. kPolicy, naming the holder (a server's PID, or a cache command), when another
  // process holds it; kIo when the file cannot be opened. The directory must exist.
  static Result<DataDirLock> lockForServer(const std::filesystem::path &dataDir);

  // For `cache gc|verify`: locks <dataDir>/lock shared (never waits). nullopt when a server
  // holds it; kIo when the file cannot be opened or created.
  static Result<std::optional<DataDirLock>> tryLockShared(const std::filesystem::path &dataDir);

  // The running server as its lock file names it ("pid 1234"), or "" if it names none.
  static std::string serverHolder(const std::filesystem::path &dataDir);

  DataDirLock(DataDirLock &&) noexcept = default;
  DataDirLock &operator=(DataDirLock &&) noexcept = default;

private:
  explicit DataDirLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_; // closing it releases the lock
};

} // namespace regcache
