#include "app/config_reload.h"

#include <algorithm>
#include <memory>

#include "base/log.h"

namespace regcache::app {

bool isLiveKey(const std::string &key) {
  static const char *const kLive[] = {"log-level",      "allow-client",  "admin-allow",
                                      "allow-target",   "deny-target",   "tag-ttl",
                                      "cache-max-size", "upstream-auth", "proxy-auth-file"};
  return std::find(std::begin(kLive), std::end(kLive), key) != std::end(kLive);
}

std::vector<std::string> changedKeys(const std::vector<ConfigEntry> &running,
                                     const std::vector<ConfigEntry> &next) {
  std::vector<std::string> out;
  for (const auto &entry : next) {
    auto old = std::find_if(running.begin(), running.end(),
                            [&](const ConfigEntry &e) { return e.key == entry.key; });
    if (old == running.end() || old->values != entry.values) out.push_back(entry.key);
  }
  return out;
}

proxy::Reloader makeReloader(std::vector<std::string> args, std::vector<ConfigEntry> running) {
  // The signal thread alone calls the reloader, one SIGHUP at a time.
  auto state = std::make_shared<std::vector<ConfigEntry>>(std::move(running));
  return [args = std::move(args), state]() -> proxy::ServerOptions {
    std::vector<const char *> argv;
    for (const auto &arg : args)
      argv.push_back(arg.c_str());
    Cli cli;
    ParsedCommand parsed = cli.parse(static_cast<int>(argv.size()), argv.data());
    std::vector<ConfigEntry> next = cli.effectiveConfig();
    for (const auto &key : changedKeys(*state, next)) {
      if (!isLiveKey(key)) {
        log::proxy().warn("reload: {} changed but needs a restart; the running value stays", key);
      }
    }
    // Live keys follow the file; the others stay as started, so they are reported again on
    // every reload until the restart.
    for (auto &entry : next) {
      if (isLiveKey(entry.key)) continue;
      auto old = std::find_if(state->begin(), state->end(),
                              [&](const ConfigEntry &e) { return e.key == entry.key; });
      if (old != state->end()) entry = *old;
    }
    *state = std::move(next);
    return parsed.serve;
  };
}

} // namespace regcache::app
