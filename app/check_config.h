#pragma once
// `regcache serve --config FILE --check-config`: every key and value of a config file checked
// the way `serve` would take it, each problem with its line.
#include <cstddef>
#include <string>
#include <vector>

namespace regcache::app {

struct ConfigProblem {
  std::size_t line = 0; // 1-based; 0 when it concerns the file as a whole
  std::string reason;
};

// Checks `path`: that it reads as TOML, that each key is a `serve` setting, that each value is
// one `serve` accepts (alone, with the other settings at their defaults), that the settings
// together make a configuration, and that the files it names (--proxy-auth-file,
// --upstream-auth) load. Returns every problem found, in line order; empty when it is good.
std::vector<ConfigProblem> checkConfigFile(const std::string &path);

} // namespace regcache::app
