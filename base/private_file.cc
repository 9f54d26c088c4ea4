#include "base/private_file.h"

#include <sys/stat.h>

#include <cstdio>

namespace regcache {

Result<void> checkPrivateMode(const std::filesystem::path &path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fail(Error::kIo, "cannot stat " + path.string());
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(st.st_mode & 0777));
    return fail(Error::kPolicy, path.string() + " is readable by group or others (mode " + mode +
                                    "); run chmod 600 on it");
  }
  return {};
}

} // namespace regcache
