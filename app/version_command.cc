#include <CLI/Version.hpp>
#include <ares.h>
#include <event2/event.h>
#include <llhttp.h>
#include <openssl/crypto.h>
#include <spdlog/version.h>
#include <sqlite3.h>

#include <iostream>
#include <sstream>

#include "app/build_info.h"
#include "app/commands.h"
#include "base/json_text.h"

namespace regcache::app {

std::string versionText() {
  std::ostringstream out;
  // Runtime versions for shared libraries (what the binary actually loaded); header versions
  // for the ones compiled in (llhttp, spdlog, CLI11).
  out << "regcache " << REGCACHE_VERSION << "\n"
      << "  git " << gitDescribe() << "\n"
      << "  build " << REGCACHE_BUILD_TYPE << ", " << REGCACHE_COMPILER << ", "
      << REGCACHE_ARCHITECTURE << "\n"
      << "  " << OpenSSL_version(OPENSSL_VERSION) << "\n"
      << "  libevent " << event_get_version() << "\n"
      << "  SQLite " << sqlite3_libversion() << "\n"
      << "  c-ares " << ares_version(nullptr) << "\n"
      << "  llhttp " << LLHTTP_VERSION_MAJOR << "." << LLHTTP_VERSION_MINOR << "."
      << LLHTTP_VERSION_PATCH << "\n"
      << "  spdlog " << SPDLOG_VER_MAJOR << "." << SPDLOG_VER_MINOR << "." << SPDLOG_VER_PATCH
      << "\n"
      << "  CLI11 " << CLI11_VERSION << "\n";
  return out.str();
}

std::string versionJson() {
  std::ostringstream out;
  out << "{\"version\":" << jsonText(REGCACHE_VERSION) << ",\"git\":" << jsonText(gitDescribe())
      << ",\"build_type\":" << jsonText(REGCACHE_BUILD_TYPE)
      << ",\"compiler\":" << jsonText(REGCACHE_COMPILER)
      << ",\"architecture\":" << jsonText(REGCACHE_ARCHITECTURE) << ",\"libraries\":{"
      << "\"openssl\":" << jsonText(OpenSSL_version(OPENSSL_VERSION))
      << ",\"libevent\":" << jsonText(event_get_version())
      << ",\"sqlite\":" << jsonText(sqlite3_libversion())
      << ",\"c-ares\":" << jsonText(ares_version(nullptr)) << ",\"llhttp\":\""
      << LLHTTP_VERSION_MAJOR << "." << LLHTTP_VERSION_MINOR << "." << LLHTTP_VERSION_PATCH
      << "\",\"spdlog\":\"" << SPDLOG_VER_MAJOR << "." << SPDLOG_VER_MINOR << "."
      << SPDLOG_VER_PATCH << "\",\"cli11\":" << jsonText(CLI11_VERSION) << "}}\n";
  return out.str();
}

int runVersion(bool json) {
  std::cout << (json ? versionJson() : versionText());
  return 0;
}

} // namespace regcache::app
