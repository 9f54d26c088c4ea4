#pragma once
// Named loggers. Data-path lines start with the connection id ("[c42] ..."). Levels: warn is
// degraded service, info is lifecycle, debug is a decision per connection, trace is state changes.
// Never log Authorization headers or keys.
#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace regcache::log {

// Creates the named loggers (proxy, tls, dns, ca, cache, access) writing to stderr at `level`
// ("trace".."off"). accessLogPath: empty sends access lines to stderr with the others, "-" to
// stdout, otherwise to that file. `bareAccessLines`: access lines are written as given, without
// the time prefix (each is a JSON object that carries its own). Throws on a bad level or an
// unopenable file (start-up only).
void setup(const std::string &level, const std::string &accessLogPath = {},
           bool bareAccessLines = false);

// Sets the level of the named loggers (not access) while they run (SIGHUP); spdlog levels are
// atomic. Returns false, changing nothing, for a bad level.
bool setLevel(const std::string &level);

spdlog::logger &proxy();
spdlog::logger &tls();
spdlog::logger &dns();
spdlog::logger &ca();
spdlog::logger &cache();
spdlog::logger &access();

} // namespace regcache::log
