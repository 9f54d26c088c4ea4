#include <ares.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <spdlog/version.h>
#include <sqlite3.h>

#include <iostream>

#include "app/commands.h"

namespace regcache::app {

int runVersion() {
  std::cout << "regcache " << REGCACHE_VERSION << "\n"
            << "  " << OpenSSL_version(OPENSSL_VERSION) << "\n"
            << "  libevent " << event_get_version() << "\n"
            << "  c-ares " << ares_version(nullptr) << "\n"
            << "  SQLite " << sqlite3_libversion() << "\n"
            << "  spdlog " << SPDLOG_VER_MAJOR << "." << SPDLOG_VER_MINOR << "." << SPDLOG_VER_PATCH
            << "\n";
  return 0;
}

} // namespace regcache::app
