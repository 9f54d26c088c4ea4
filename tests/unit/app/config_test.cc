// One TOML file covers every `serve` flag; --print-config reads back as the same configuration;
// --check-config names the line and the reason; SIGHUP knows which keys change live.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "app/check_config.h"
#include "app/cli.h"
#include "app/config_reload.h"
#include "app/print_config.h"

using namespace regcache::app;

namespace {

ParsedCommand parseWith(Cli &cli, std::vector<std::string> args) {
  args.insert(args.begin(), "regcache");
  std::vector<const char *> argv;
  for (const auto &a : args)
    argv.push_back(a.c_str());
  return cli.parse(static_cast<int>(argv.size()), argv.data());
}

struct TempFile {
  std::filesystem::path path;
  explicit TempFile(const std::string &text, const std::string &name = "config") {
    static int counter = 0;
    path = std::filesystem::temp_directory_path() /
           ("regcache-" + name + "-" + std::to_string(::getpid()) + "-" +
            std::to_string(++counter) + ".toml");
    write(text);
  }
  void write(const std::string &text) const { std::ofstream(path) << text; }
  ~TempFile() { std::filesystem::remove(path); }
};

// Every long flag `serve --help` lists, as its config key (an option's first long name). Lenient
// on the line's shape (short names, several of them, CLI11's spacing), so a flag another branch
// adds is found however it is declared.
std::set<std::string> serveHelpFlags() {
  Cli cli;
  std::istringstream help(cli.serveHelp());
  std::set<std::string> out;
  static const std::regex flag(R"(^\s+(?:-[a-zA-Z0-9]+,\s*)*--([a-z][a-z0-9_-]*))");
  for (std::string line; std::getline(help, line);) {
    std::smatch m;
    if (std::regex_search(line, m, flag)) out.insert(m[1].str());
  }
  return out;
}

const std::set<std::string> kActions = {"help", "help-all", "config", "print-config",
                                        "check-config"};

} // namespace

TEST_CASE("every serve flag has a config key, listed in the example config", "[app][config]") {
  auto flags = serveHelpFlags();
  REQUIRE(flags.size() > 30); // the help was parsed, not an empty list
  std::ifstream in(std::string(REGCACHE_SOURCE_DIR) + "/app/regcache.example.toml");
  std::string example((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(!example.empty());
  Cli cli;
  for (const auto &key : flags) {
    if (kActions.count(key) != 0) continue;
    INFO("--" << key);
    CHECK(cli.isConfigKey(key));
    CHECK(std::regex_search(example, std::regex("(^|\n)#? ?" + key + " = ")));
  }
  // The help and the parser agree on the list: a change in how CLI11 lays out the help cannot
  // hide a flag from the check above.
  std::set<std::string> parsed;
  for (const auto &entry : cli.effectiveConfig())
    parsed.insert(entry.key);
  std::set<std::string> settings;
  for (const auto &key : flags) {
    if (kActions.count(key) == 0) settings.insert(key);
  }
  CHECK(settings == parsed);
}

TEST_CASE("the printed configuration read back as a config file is the same configuration",
          "[app][config]") {
  Cli first;
  TempFile file("tag-ttl = \"1h\"\nallow-client = [\"10.1.0.0/16\"]\n");
  parseWith(first, {"serve", "--config", file.path.string(), "--read-only", "--tunnel", "a.test",
                    "--tunnel", "b.test", "--workers", "3", "--data-dir", "/srv/rc"});
  auto entries = first.effectiveConfig();
  std::set<std::string> keys;
  for (const auto &e : entries)
    keys.insert(e.key);
  for (const auto &key : serveHelpFlags()) {
    if (kActions.count(key) == 0) CHECK(keys.count(key) == 1);
  }
  std::string printed = formatConfig(entries, "/srv/rc");
  CHECK(printed.find("tag-ttl = \"1h\"\n") != std::string::npos);
  CHECK(printed.find("tunnel = [\"a.test\", \"b.test\"]\n") != std::string::npos);
  CHECK(printed.find("read-only = true\n") != std::string::npos);
  CHECK(printed.find("workers = 3\n") != std::string::npos);

  TempFile again(printed);
  Cli second;
  auto reparsed = parseWith(second, {"serve", "--config", again.path.string()});
  CHECK(reparsed.dataDir == "/srv/rc");
  CHECK(changedKeys(entries, second.effectiveConfig()).empty());
}

TEST_CASE("printed secrets are redacted", "[app][config]") {
  CHECK(redact("upstream-proxy", "http://user:hunter2@parent:3128") ==
        "http://user:<redacted>@parent:3128");
  CHECK(redact("upstream-proxy", "http://parent:3128") == "http://parent:3128");
  CHECK(redact("upstream-token", "abc") == "<redacted>");
  CHECK(redact("proxy-auth-file", "/etc/regcache/users") == "/etc/regcache/users");
  ConfigEntry entry{"admin-password", {"swordfish"}, false, false};
  CHECK(formatConfig({entry}, "/d").find("swordfish") == std::string::npos);
}

TEST_CASE("check-config reports each bad key and value with its line", "[app][config]") {
  TempFile file("listen = [\"127.0.0.1:3128\"]\n"
                "workerz = 3\n"
                "\n"
                "tag-ttl = \"5 parsecs\"\n"
                "allow-client = [\"10.0.0.0/33\"]\n"
                "log-level = \"loud\"\n");
  auto problems = checkConfigFile(file.path.string());
  REQUIRE(problems.size() == 4);
  CHECK(problems[0].line == 2);
  CHECK(problems[0].reason.find("unknown key 'workerz'") != std::string::npos);
  CHECK(problems[1].line == 4);
  CHECK(problems[1].reason.find("tag-ttl") != std::string::npos);
  CHECK(problems[2].line == 5);
  CHECK(problems[2].reason.find("10.0.0.0/33") != std::string::npos);
  CHECK(problems[3].line == 6);
}

TEST_CASE("check-config reads the files the config names", "[app][config]") {
  TempFile file("proxy-auth-file = \"/nonexistent/regcache-users\"\n");
  auto problems = checkConfigFile(file.path.string());
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].line == 1);
  CHECK(problems[0].reason.find("/nonexistent/regcache-users") != std::string::npos);
}

TEST_CASE("check-config accepts the example config", "[app][config]") {
  CHECK(checkConfigFile(std::string(REGCACHE_SOURCE_DIR) + "/app/regcache.example.toml").empty());
  CHECK(checkConfigFile("/nonexistent/regcache.toml").size() == 1);
}

TEST_CASE("the reloader reads the file again, and a bad file throws", "[app][config][reload]") {
  TempFile file("allow-client = [\"127.0.0.0/8\"]\nworkers = 2\n");
  std::vector<std::string> args = {"regcache", "serve", "--config", file.path.string()};
  Cli cli;
  std::vector<const char *> argv;
  for (const auto &a : args)
    argv.push_back(a.c_str());
  cli.parse(static_cast<int>(argv.size()), argv.data());
  auto reload = makeReloader(args, cli.effectiveConfig());

  file.write("allow-client = [\"127.0.0.1/32\"]\nworkers = 4\n");
  auto next = reload();
  CHECK(next.allowClients == std::vector<std::string>{"127.0.0.1/32"});
  file.write("allow-client = [\"127.0.0.1/33\"]\n");
  CHECK_THROWS(reload());
}

TEST_CASE("only the keys that can change safely are live", "[app][config][reload]") {
  for (const char *key : {"log-level", "allow-client", "allow-target", "deny-target", "tag-ttl",
                          "cache-max-size", "upstream-auth", "proxy-auth-file"}) {
    CHECK(isLiveKey(key));
  }
  for (const char *key : {"listen", "data-dir", "workers", "user", "no-cache", "dns-server"}) {
    CHECK_FALSE(isLiveKey(key));
  }
  std::vector<ConfigEntry> a = {{"listen", {"127.0.0.1:3128"}, true, false},
                                {"tag-ttl", {"5m"}, false, false}};
  auto b = a;
  b[1].values = {"1h"};
  CHECK(changedKeys(a, b) == std::vector<std::string>{"tag-ttl"});
}

TEST_CASE("upstream-proxy and upstream-no-proxy parse, are checked, and need a restart",
          "[app][config][chain]") {
  Cli cli;
  auto parsed = parseWith(cli, {"serve", "--upstream-proxy", "http://ci:s3cret@proxy.lan:3128",
                                "--upstream-no-proxy", "registry.lan, .corp.example",
                                "--upstream-no-proxy", "10.0.0.0/8"});
  CHECK(parsed.serve.upstreamProxy == "http://ci:s3cret@proxy.lan:3128");
  CHECK(parsed.serve.upstreamNoProxy ==
        std::vector<std::string>{"registry.lan", " .corp.example", "10.0.0.0/8"});
  std::string printed = formatConfig(cli.effectiveConfig(), "/d");
  CHECK(printed.find("upstream-proxy = \"http://ci:<redacted>@proxy.lan:3128\"\n") !=
        std::string::npos);
  CHECK(printed.find("s3cret") == std::string::npos);
  TempFile file("upstream-proxy = \"http://proxy.lan:3128\"\n"
                "upstream-no-proxy = [\"*.lan\", \"192.168.0.0/16\"]\n");
  Cli fromFile;
  auto configured = parseWith(fromFile, {"serve", "--config", file.path.string()});
  CHECK(configured.serve.upstreamProxy == "http://proxy.lan:3128");
  CHECK(configured.serve.upstreamNoProxy == std::vector<std::string>{"*.lan", "192.168.0.0/16"});
  for (const char *bad : {"proxy.lan:3128", "https://proxy.lan:3128", "http://proxy.lan"}) {
    Cli refusing;
    CHECK_THROWS_WITH(parseWith(refusing, {"serve", "--upstream-proxy", bad}),
                      Catch::Contains("--upstream-proxy"));
  }
  Cli refusing;
  CHECK_THROWS_WITH(parseWith(refusing, {"serve", "--upstream-no-proxy", "a b"}),
                    Catch::Contains("--upstream-no-proxy"));
  CHECK_FALSE(isLiveKey("upstream-proxy"));
  CHECK_FALSE(isLiveKey("upstream-no-proxy"));
}
