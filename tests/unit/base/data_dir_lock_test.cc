#include <catch2/catch.hpp>

#include "temp_dir.h"

#include <unistd.h>

#include <filesystem>
#include <random>

#include "base/data_dir_lock.h"

using namespace regcache;
using regcache::test::TempDir;
namespace fs = std::filesystem;

// flock locks belong to the open file, so two opens in one process contend like two processes.
TEST_CASE("a second server on a data dir is refused, naming the first one's pid", "[base][lock]") {
  TempDir dir;
  auto first = DataDirLock::lockForServer(dir.path());
  REQUIRE(first.ok());
  CHECK(DataDirLock::serverHolder(dir.path()) == "pid " + std::to_string(::getpid()));
  auto second = DataDirLock::lockForServer(dir.path());
  REQUIRE_FALSE(second.ok());
  CHECK(second.failure().code == Error::kPolicy);
  CHECK(second.failure().detail.find("another regcache server (pid " + std::to_string(::getpid()) +
                                     ")") != std::string::npos);
  // A cache command sees the server and runs beside it, holding nothing.
  auto shared = DataDirLock::tryLockShared(dir.path());
  REQUIRE(shared.ok());
  CHECK_FALSE(shared->has_value());
}

TEST_CASE("cache commands share the lock, and a server waits for none of them", "[base][lock]") {
  TempDir dir;
  auto gc = DataDirLock::tryLockShared(dir.path());
  REQUIRE(gc.ok());
  REQUIRE(gc->has_value());
  auto verify = DataDirLock::tryLockShared(dir.path());
  REQUIRE(verify.ok());
  CHECK(verify->has_value());
  auto server = DataDirLock::lockForServer(dir.path());
  REQUIRE_FALSE(server.ok());
  CHECK(server.failure().detail.find("cache gc") != std::string::npos);
  gc->reset();
  verify->reset();
  CHECK(DataDirLock::lockForServer(dir.path()).ok()); // released with the commands
}

TEST_CASE("a symlink planted as the lock file is not followed", "[base][lock]") {
  TempDir dir;
  fs::path target = dir.path() / "elsewhere";
  fs::create_symlink(target, dir.path() / "lock");
  auto locked = DataDirLock::lockForServer(dir.path());
  CHECK_FALSE(locked.ok());
  CHECK_FALSE(fs::exists(target));
}
