#pragma once
// Running as root only to bind: after the listening sockets exist, the process becomes `user`.
// The data dir is handed to that user first, so the cache and the CA stay writable.
#include <filesystem>
#include <string>

#include "base/result.h"

namespace regcache {

// kPolicy when not root or the user is unknown; kIo when a step fails. Irreversible.
Result<void> dropPrivileges(const std::string &user, const std::filesystem::path &dataDir);

} // namespace regcache
