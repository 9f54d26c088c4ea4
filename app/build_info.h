#pragma once
// What was built: the project version, the commit, the build type and the target machine. The
// commit comes from a file generated at build time (cmake/build_info.cmake); the rest is fixed
// at configure time.
#include <string>

namespace regcache::app {

// `git describe --tags --always --dirty` of the source tree when it was built, or the project
// version followed by "(not a git checkout)". Never null.
const char *gitDescribe();

// The text `regcache version` prints: the version, the commit, the build type, the compiler and
// architecture, and the version of every library regcache links (OpenSSL, libevent, SQLite,
// c-ares, llhttp, spdlog, CLI11), one per line.
std::string versionText();

} // namespace regcache::app
