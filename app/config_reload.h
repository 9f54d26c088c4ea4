#pragma once
// SIGHUP for `regcache serve`: the same command line parsed again, so the config file is read
// again and flags given on the command line still win.
#include <string>
#include <vector>

#include "app/cli.h"
#include "proxy/server.h"

namespace regcache::app {

// The config keys Server::reload applies while running; any other key that changes is logged
// as needing a restart and keeps its running value.
bool isLiveKey(const std::string &key);

// The keys whose values differ between `running` and `next` (both from effectiveConfig()).
std::vector<std::string> changedKeys(const std::vector<ConfigEntry> &running,
                                     const std::vector<ConfigEntry> &next);

// A reloader for proxy::runServer: parses `args` (argv as started) again, logs each changed
// key that needs a restart, and returns the new options (which Server::reload applies in part).
// `running` is the configuration in effect at start. Throws with the reason when the
// configuration no longer loads.
proxy::Reloader makeReloader(std::vector<std::string> args, std::vector<ConfigEntry> running);

} // namespace regcache::app
