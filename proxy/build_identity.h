#pragma once
// What was built, as app/ knows it (the version and build type from CMake, the commit from git
// describe), handed to the proxy for the regcache_build_info gauge and the status page.
#include <string>

namespace regcache::proxy {

struct BuildIdentity {
  std::string version = "unknown";
  std::string git = "unknown";
  std::string buildType = "unknown";
};

} // namespace regcache::proxy
