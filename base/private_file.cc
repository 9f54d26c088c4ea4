#include "base/private_file.h"

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <sstream>

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

Result<std::string> readPrivateFile(const std::filesystem::path &path) {
  if (auto mode = checkPrivateMode(path); !mode.ok()) return mode.failure();
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Error::kIo, "cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

} // namespace regcache
