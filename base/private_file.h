#pragma once
// Secrets on disk (CA keys, upstream accounts) must be readable by their owner alone.
#include <filesystem>
#include <string>

#include "base/result.h"

namespace regcache {

// kPolicy, naming the mode and the fix, when group or others may access `path`.
Result<void> checkPrivateMode(const std::filesystem::path &path);

// The whole content of a file that must be private (checkPrivateMode first).
Result<std::string> readPrivateFile(const std::filesystem::path &path);

} // namespace regcache
