#include "app/check_config.h"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>

#include "app/cli.h"
#include "app/commands.h"
#include "proxy/live_config.h"

namespace regcache::app {
namespace {

// Where each key is set: "key = ..." lines, keys under a [section] as "section.key". CLI11's
// reader does not say, so the file is scanned the same way.
std::map<std::string, std::size_t> keyLines(const std::string &path) {
  static const std::regex section(R"(^\s*\[\s*([^\]\s]+)\s*\]\s*(#.*)?$)");
  static const std::regex assignment(R"(^\s*([A-Za-z0-9_.-]+)\s*=)");
  static const std::regex bare(R"(^\s*([A-Za-z0-9_.-]+)\s*(#.*)?$)"); // a key with no value
  std::map<std::string, std::size_t> out;
  std::ifstream in(path);
  std::string prefix;
  std::size_t number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    std::smatch m;
    if (std::regex_match(line, m, section)) {
      prefix = m[1].str() + ".";
    } else if (std::regex_search(line, m, assignment) || std::regex_match(line, m, bare)) {
      out.emplace(prefix + m[1].str(), number);
    }
  }
  return out;
}

// Parses `serve` with `args` on a fresh command line; the reason it fails, or empty.
std::string tryServe(std::vector<std::string> args) {
  args.insert(args.begin(), {"regcache", "serve"});
  std::vector<const char *> argv;
  for (const auto &arg : args)
    argv.push_back(arg.c_str());
  try {
    Cli cli;
    ParsedCommand parsed = cli.parse(static_cast<int>(argv.size()), argv.data());
    if (parsed.command != Command::kServe) return {};
    // The files it names are read as `serve` reads them at start-up and on SIGHUP.
    if (auto live = proxy::loadLiveConfig(parsed.serve, {}); !live.ok()) {
      return live.failure().detail;
    }
  } catch (const std::exception &e) {
    return e.what();
  }
  return {};
}

} // namespace

std::vector<ConfigProblem> checkConfigFile(const std::string &path) {
  if (!std::ifstream(path)) return {{0, "cannot read " + path}};
  std::vector<CLI::ConfigItem> items;
  try {
    items = CLI::ConfigTOML().from_file(path);
  } catch (const std::exception &e) {
    return {{0, std::string("not a TOML file: ") + e.what()}};
  }
  auto lines = keyLines(path);
  std::vector<ConfigProblem> problems;
  Cli names;
  for (const auto &item : items) {
    if (item.name == "++" || item.name == "--") continue; // section markers
    std::string name = item.parents.empty() ? item.name : item.fullname();
    std::size_t line = lines.count(name) != 0 ? lines[name] : 0;
    if (!names.isConfigKey(name)) {
      problems.push_back({line, "unknown key '" + name + "' (see regcache serve --help)"});
      continue;
    }
    std::vector<std::string> args;
    for (const auto &input : item.inputs)
      args.push_back("--" + name + "=" + input);
    if (item.inputs.empty()) args.push_back("--" + name);
    if (auto reason = tryServe(args); !reason.empty()) {
      problems.push_back({line, name + ": " + reason});
    }
  }
  // Each value was good alone; together they must still make a configuration.
  if (problems.empty()) {
    if (auto reason = tryServe({"--config", path}); !reason.empty()) {
      problems.push_back({0, reason});
    }
  }
  std::stable_sort(problems.begin(), problems.end(),
                   [](const auto &a, const auto &b) { return a.line < b.line; });
  return problems;
}

int runCheckConfig(const ParsedCommand &command) {
  if (command.configFile.empty()) {
    std::cerr << "regcache: --check-config needs --config FILE\n";
    return 2;
  }
  auto problems = checkConfigFile(command.configFile);
  for (const auto &problem : problems) {
    std::cerr << command.configFile;
    if (problem.line != 0) std::cerr << ":" << problem.line;
    std::cerr << ": " << problem.reason << "\n";
  }
  if (!problems.empty()) return 1;
  std::cout << command.configFile << ": ok\n";
  return 0;
}

} // namespace regcache::app
