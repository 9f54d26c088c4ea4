#include "base/privileges.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace regcache {
namespace {

Failure ioFailure(const std::string &what) {
  return fail(Error::kIo, what + ": " + std::strerror(errno));
}

} // namespace

Result<void> dropPrivileges(const std::string &user, const std::filesystem::path &dataDir) {
  if (::geteuid() != 0) return fail(Error::kPolicy, "--user needs regcache to start as root");
  long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(size > 0 ? static_cast<std::size_t>(size) : 16384);
  passwd entry{};
  passwd *found = nullptr;
  if (::getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 ||
      found == nullptr) {
    return fail(Error::kPolicy, "unknown user " + user);
  }
  if (found->pw_uid == 0) return fail(Error::kPolicy, "--user must name an unprivileged user");
  std::error_code ec;
  if (::lchown(dataDir.c_str(), found->pw_uid, found->pw_gid) != 0) {
    return ioFailure("chown " + dataDir.string());
  }
  for (auto it = std::filesystem::recursive_directory_iterator(dataDir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (::lchown(it->path().c_str(), found->pw_uid, found->pw_gid) != 0) {
      return ioFailure("chown " + it->path().string());
    }
  }
  if (ec) return fail(Error::kIo, "walking " + dataDir.string() + ": " + ec.message());
  if (::initgroups(found->pw_name, found->pw_gid) != 0) return ioFailure("initgroups");
  if (::setgid(found->pw_gid) != 0) return ioFailure("setgid");
  if (::setuid(found->pw_uid) != 0) return ioFailure("setuid");
  if (::setuid(0) == 0) return fail(Error::kInternal, "root could be regained after --user");
  return {};
}

} // namespace regcache
