#pragma once
// The command line: CLI11 subcommands, and the TOML config file for `serve`. Parsing is apart
// from running, so tests can check what a command line means without starting anything.
#include <CLI/CLI.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "app/cache_warm.h"
#include "app/doctor.h"
#include "app/s3_options.h"
#include "proxy/server_options.h"

namespace regcache::app {

enum class Command {
  kNone,
  kServe,
  kCaInit,
  kCaBundle,
  kCaShow,
  kCaRotate,
  kCaInstall,
  kClientConfig,
  kCacheList,
  kCacheStats,
  kCacheVerify,
  kCacheRemove,
  kCacheGc,
  kCacheWarm,
  kStoreGc, // store gc: eviction in a shared S3 bucket
  kProxyAuthHash,
  kDoctor,
  kVersion,
  kPrintConfig, // serve --print-config: `serve` fully parsed, then printed
  kCheckConfig  // serve --check-config: only configFile is set
};

struct ParsedCommand {
  Command command = Command::kNone;
  proxy::ServerOptions serve;                                    // for kServe
  std::filesystem::path dataDir;                                 // for every command
  std::vector<std::string> permitDns;                            // ca init
  std::chrono::milliseconds overlap{std::chrono::hours(24 * 7)}; // ca rotate
  bool rotateNow = false;                                        // ca rotate --now
  bool json = false; // --json: cache ls|stats|verify, version print one JSON document
  std::chrono::hours leafValidity{24 * 7}; // ca rotate: how long old leaves live on
  std::string bundleFile;                  // ca install
  std::string bundleUrl;                   // ca install
  std::vector<std::string> targets;        // ca install: system, docker, containerd, buildkit, all
  std::filesystem::path installRoot = "/"; // ca install
  std::vector<std::string> registries;     // ca install
  // ca install: the pinned roots' SHA-256, as given (normalized by the command)
  std::vector<std::string> fingerprints;
  std::filesystem::path bundleCaFile; // ca install: extra roots to verify an https --bundle-url
  std::string proxyUrl;               // client-config
  std::string noProxy;                // client-config
  std::string mirrorUrl;              // client-config: the mirror endpoint (default: proxyUrl)
  std::string clientFile = "all";     // client-config --client
  std::string gatePath;               // client-config: where regcache-proxy-gate is installed
  DoctorOptions doctor;               // doctor
  std::string cacheRef;               // cache rm
  bool hashToken = false;             // proxy-auth hash
  bool hashAdmin = false;             // proxy-auth hash --admin
  std::chrono::milliseconds gcOlderThan{0}; // cache gc: 0 keeps every blob in use
  std::string configFile;                   // serve --check-config
  WarmOptions warm;                         // cache warm
  // store gc: the bucket (--store, --s3-*), its extra roots (--upstream-ca), and --dry-run
  S3Flags storeGc;
  std::vector<std::filesystem::path> storeGcCaFiles;
  bool dryRun = false;
};

// One `serve` setting as it is in effect: its config key (the flag without dashes) and values.
struct ConfigEntry {
  std::string key;
  std::vector<std::string> values; // empty: unset (no default)
  bool list = false;               // a repeatable flag: a TOML array
  bool flag = false;               // a boolean flag
};

// The default data directory: $REGCACHE_DATA_DIR, else /var/lib/regcache for root, else
// $XDG_CACHE_HOME/regcache or ~/.cache/regcache.
std::filesystem::path defaultDataDir();

// "127.0.0.1:3128", "[::1]:3128", "0.0.0.0:3128". Throws std::invalid_argument.
proxy::ListenAddress parseListenAddress(const std::string &text);
// "IP" or "IP:PORT" or "[IPv6]:PORT". Throws std::invalid_argument.
void validateDnsServer(const std::string &text);

class Cli {
public:
  Cli();
  ~Cli();
  // Parses argv. Throws CLI::ParseError (including --help; pass it to exit()) or
  // std::invalid_argument for a value CLI11 accepted but regcache cannot use.
  ParsedCommand parse(int argc, const char *const *argv);
  // Prints help or the error for `e` and returns the exit code.
  int exit(const CLI::Error &e) { return app_.exit(e); }
  std::string help() const { return app_.help(); }
  std::string serveHelp() const { return serve_->help(); }
  // After parse() of `serve`: every setting as it is in effect (config file, flags and
  // defaults merged), in --help order, without the actions (--config, --print-config,
  // --check-config, --help). data-dir is the configured one (empty: the default). Defined in
  // app/print_config.cc.
  std::vector<ConfigEntry> effectiveConfig() const;
  // True if `key` names a `serve` setting a config file may set.
  bool isConfigKey(const std::string &key) const;

private:
  struct Raw; // flag values as typed, converted in parse()
  void applyConfigFile(const std::string &path);
  CLI::App app_{"regcache: a caching forward proxy for container registries", "regcache"};
  std::unique_ptr<Raw> raw_;
  CLI::App *serve_ = nullptr;
  CLI::App *caInit_ = nullptr;
  CLI::App *caBundle_ = nullptr;
  CLI::App *caShow_ = nullptr;
  CLI::App *caRotate_ = nullptr;
  CLI::App *caInstall_ = nullptr;
  CLI::App *clientConfig_ = nullptr;
  CLI::App *doctor_ = nullptr;
  CLI::App *cacheList_ = nullptr;
  CLI::App *cacheStats_ = nullptr;
  CLI::App *cacheVerify_ = nullptr;
  CLI::App *cacheRemove_ = nullptr;
  CLI::App *cacheGc_ = nullptr;
  CLI::App *cacheWarm_ = nullptr;
  CLI::App *storeGc_ = nullptr;
  CLI::App *proxyAuthHash_ = nullptr;
  CLI::App *version_ = nullptr;
  bool json_ = false; // --json of the subcommands that print reports
};

} // namespace regcache::app
