#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <random>
#include <vector>

#include "app/cli.h"

using namespace regcache::app;
using namespace std::chrono_literals;

namespace {

ParsedCommand parse(std::vector<std::string> args) {
  args.insert(args.begin(), "regcache");
  std::vector<const char *> argv;
  for (const auto &a : args)
    argv.push_back(a.c_str());
  Cli cli;
  return cli.parse(static_cast<int>(argv.size()), argv.data());
}

struct TempFile {
  std::filesystem::path path;
  explicit TempFile(const std::string &content) {
    std::random_device random;
    path = std::filesystem::temp_directory_path() /
           ("regcache-cli-" + std::to_string(random()) + ".toml");
    std::ofstream(path) << content;
  }
  ~TempFile() { std::filesystem::remove(path); }
};

} // namespace

TEST_CASE("serve without flags has the documented defaults", "[app][cli]") {
  auto c = parse({"serve", "--data-dir", "/srv/rc"});
  REQUIRE(c.command == Command::kServe);
  REQUIRE(c.serve.listen.size() == 1);
  CHECK(c.serve.listen[0].host == "127.0.0.1");
  CHECK(c.serve.listen[0].port == 3128);
  CHECK(c.serve.dataDir == "/srv/rc");
  CHECK(c.serve.workers == 0);
  CHECK(c.serve.interceptPatterns == std::vector<std::string>{"*"});
  CHECK(c.serve.tunnelPatterns.empty());
  CHECK(c.serve.logLevel == "info");
  CHECK(c.serve.idleTimeout == 60s);
  CHECK(c.serve.limits.maxHeaderBytes == 64 * 1024);
}

TEST_CASE("every serve flag reaches the server options", "[app][cli]") {
  TempFile ca("not checked for content here");
  auto c = parse({"serve",
                  "--listen",
                  "0.0.0.0:3129",
                  "--listen",
                  "[::1]:3130",
                  "--data-dir",
                  "/d",
                  "--workers",
                  "3",
                  "--intercept",
                  "*.docker.io",
                  "--tunnel",
                  "bank.example",
                  "--dns-server",
                  "127.0.0.1:5353",
                  "--dns-server",
                  "[::1]:53",
                  "--upstream-ca",
                  ca.path.string(),
                  "--log-level",
                  "debug",
                  "--access-log",
                  "-",
                  "--max-request-line",
                  "4KiB",
                  "--max-header-bytes",
                  "32KiB",
                  "--max-headers",
                  "50",
                  "--idle-timeout",
                  "2m",
                  "--handshake-timeout",
                  "5s",
                  "--header-timeout",
                  "15s",
                  "--connect-timeout",
                  "3s",
                  "--upstream-timeout",
                  "1h",
                  "--leaf-cache-size",
                  "99"});
  const auto &o = c.serve;
  REQUIRE(o.listen.size() == 2);
  CHECK(o.listen[0].host == "0.0.0.0");
  CHECK(o.listen[0].port == 3129);
  CHECK(o.listen[1].host == "::1");
  CHECK(o.listen[1].port == 3130);
  CHECK(o.workers == 3);
  CHECK(o.interceptPatterns == std::vector<std::string>{"*.docker.io"});
  CHECK(o.tunnelPatterns == std::vector<std::string>{"bank.example"});
  CHECK(o.dnsServers == std::vector<std::string>{"127.0.0.1:5353", "[::1]:53"});
  REQUIRE(o.upstreamCaFiles.size() == 1);
  CHECK(o.upstreamCaFiles[0] == ca.path);
  CHECK(o.logLevel == "debug");
  CHECK(o.accessLogPath == "-");
  CHECK(o.limits.maxRequestLine == 4096);
  CHECK(o.limits.maxHeaderBytes == 32 * 1024);
  CHECK(o.limits.maxHeaderCount == 50);
  CHECK(o.idleTimeout == 2min);
  CHECK(o.handshakeTimeout == 5s);
  CHECK(o.headerTimeout == 15s);
  CHECK(o.connectTimeout == 3s);
  CHECK(o.upstreamTimeout == 1h);
  CHECK(o.leafCacheSize == 99);
}

TEST_CASE("admin access flags: --admin-allow, --public-catalog, proxy-auth hash --admin",
          "[app][cli]") {
  auto defaults = parse({"serve", "--data-dir", "/d"});
  CHECK(defaults.serve.adminAllow == std::vector<std::string>{"127.0.0.0/8", "::1"});
  CHECK_FALSE(defaults.serve.publicCatalog);
  auto c = parse({"serve", "--data-dir", "/d", "--admin-allow", "10.1.0.0/16", "--admin-allow",
                  "::1", "--public-catalog"});
  CHECK(c.serve.adminAllow == std::vector<std::string>{"10.1.0.0/16", "::1"});
  CHECK(c.serve.publicCatalog);
  CHECK_THROWS(parse({"serve", "--data-dir", "/d", "--admin-allow", "not-a-range"}));
  auto hash = parse({"proxy-auth", "hash", "--token", "--admin"});
  CHECK(hash.command == Command::kProxyAuthHash);
  CHECK(hash.hashToken);
  CHECK(hash.hashAdmin);
}

TEST_CASE("the TOML config file sets options and flags override it", "[app][cli]") {
  TempFile config(R"(listen = ["127.0.0.1:4000", "[::1]:4001"]
data-dir = "/from/file"
workers = 4
tunnel = ["a.example", "b.example"]
idle-timeout = "90s"
log-level = "warn"
)");
  auto fromFile = parse({"serve", "--config", config.path.string()});
  REQUIRE(fromFile.serve.listen.size() == 2);
  CHECK(fromFile.serve.listen[1].host == "::1");
  CHECK(fromFile.serve.dataDir == "/from/file");
  CHECK(fromFile.serve.workers == 4);
  CHECK(fromFile.serve.tunnelPatterns == std::vector<std::string>{"a.example", "b.example"});
  CHECK(fromFile.serve.idleTimeout == 90s);
  CHECK(fromFile.serve.logLevel == "warn");

  auto overridden =
      parse({"serve", "--config", config.path.string(), "--workers", "1", "--log-level", "debug"});
  CHECK(overridden.serve.workers == 1);
  CHECK(overridden.serve.logLevel == "debug");
  CHECK(overridden.serve.dataDir == "/from/file");
}

TEST_CASE("bad values are refused with a clear error", "[app][cli]") {
  CHECK_THROWS_WITH(parse({"serve", "--listen", "localhost:3128"}),
                    Catch::Contains("bad listen address"));
  CHECK_THROWS_WITH(parse({"serve", "--listen", "127.0.0.1:99999"}), Catch::Contains("bad port"));
  CHECK_THROWS_WITH(parse({"serve", "--listen", "::1:3128"}),
                    Catch::Contains("bad listen address"));
  CHECK_THROWS_WITH(parse({"serve", "--idle-timeout", "soon"}), Catch::Contains("duration"));
  CHECK_THROWS_WITH(parse({"serve", "--max-header-bytes", "lots"}), Catch::Contains("size"));
  CHECK_THROWS_WITH(parse({"serve", "--dns-server", "dns.example"}),
                    Catch::Contains("bad --dns-server"));
  CHECK_THROWS_AS(parse({"serve", "--no-such-flag"}), CLI::ParseError);
  CHECK_THROWS_AS(parse({"serve", "--log-level", "loud"}), CLI::ParseError);
  CHECK_THROWS_AS(parse({"serve", "--upstream-ca", "/no/such/file.pem"}), CLI::ParseError);
}

TEST_CASE("ca and version commands are recognised", "[app][cli]") {
  CHECK(parse({"ca", "init", "--data-dir", "/x"}).command == Command::kCaInit);
  CHECK(parse({"ca", "bundle", "--data-dir", "/x"}).dataDir == "/x");
  CHECK(parse({"ca", "show"}).command == Command::kCaShow);
  CHECK(parse({"version"}).command == Command::kVersion);
  CHECK(parse({}).command == Command::kNone);
}

TEST_CASE("the data dir defaults to REGCACHE_DATA_DIR when set", "[app][cli]") {
  ::setenv("REGCACHE_DATA_DIR", "/env/dir", 1);
  CHECK(defaultDataDir() == "/env/dir");
  CHECK(parse({"serve"}).serve.dataDir == "/env/dir");
  ::unsetenv("REGCACHE_DATA_DIR");
  CHECK(defaultDataDir() != "/env/dir");
}

TEST_CASE("every serve flag is documented in serve --help", "[app][cli]") {
  Cli cli;
  std::string help = cli.serveHelp();
  for (const char *option :
       {"--config", "--listen", "--data-dir", "--workers", "--intercept", "--tunnel",
        "--dns-server", "--upstream-ca", "--log-level", "--access-log", "--max-request-line",
        "--max-header-bytes", "--max-headers", "--idle-timeout", "--handshake-timeout",
        "--header-timeout", "--connect-timeout", "--upstream-timeout", "--leaf-cache-size"}) {
    INFO(option);
    CHECK(help.find(option) != std::string::npos);
  }
  CHECK(help.find("127.0.0.1:3128") != std::string::npos); // defaults are shown
}

TEST_CASE("an unknown key in the config file is an error, not silently ignored", "[app][cli]") {
  TempFile config("workerz = 4\n");
  CHECK_THROWS_WITH(parse({"serve", "--config", config.path.string()}),
                    Catch::Contains("unknown option 'workerz'"));
  CHECK_THROWS_WITH(parse({"serve", "--config", "/no/such/regcache.toml"}),
                    Catch::Contains("config file not found"));
}

TEST_CASE("the shipped example config parses", "[app][cli]") {
  auto example = std::filesystem::path(REGCACHE_SOURCE_DIR) / "app" / "regcache.example.toml";
  auto c = parse({"serve", "--config", example.string()});
  CHECK(c.serve.listen.at(0).port == 3128);
  CHECK(c.serve.limits.maxHeaderBytes == 64 * 1024);
}

TEST_CASE("cache flags parse sizes and durations", "[app][cli]") {
  auto c = parse({"serve", "--cache-max-size", "50GiB", "--tag-ttl", "10m"});
  CHECK(c.serve.cacheMaxSize == 50ull << 30);
  CHECK(c.serve.tagTtl == 10min);
  CHECK(c.serve.cacheEnabled);
  auto defaults = parse({"serve"});
  CHECK(defaults.serve.cacheMaxSize == 0); // auto: half of the filesystem
  CHECK(parse({"serve", "--no-cache"}).serve.cacheEnabled == false);
}

TEST_CASE("mirror flags: registries are checked, TLS listeners parsed", "[app][cli]") {
  auto c = parse({"serve", "--mirror-registries", "docker.io", "--mirror-registries",
                  "*.corp.example:5000", "--mirror-tls-listen", "127.0.0.1:3129",
                  "--mirror-tls-listen", "[::1]:3129"});
  CHECK(c.serve.mirrorRegistries == std::vector<std::string>{"docker.io", "*.corp.example:5000"});
  REQUIRE(c.serve.mirrorTlsListen.size() == 2);
  CHECK(c.serve.mirrorTlsListen[0].port == 3129);
  CHECK(c.serve.mirrorTlsListen[1].host == "::1");
  CHECK(parse({"serve"}).serve.mirrorTlsListen.empty());
  CHECK(parse({"serve"}).serve.mirrorRegistries.empty());
  CHECK_THROWS_WITH(parse({"serve", "--mirror-registries", "a/b"}),
                    Catch::Contains("bad --mirror-registries entry 'a/b'"));
  CHECK_THROWS(parse({"serve", "--mirror-tls-listen", "nowhere"}));
}

TEST_CASE("serve --eviction-interval sets how often the evictor runs", "[app][cli]") {
  CHECK(parse({"serve"}).serve.evictionInterval == 10s);
  CHECK(parse({"serve", "--eviction-interval", "1s"}).serve.evictionInterval == 1s);
  CHECK_THROWS(parse({"serve", "--eviction-interval", "0"}));
}

TEST_CASE("cache warm takes images, a list file, --proxy, --platform and --concurrency",
          "[app][cli][warm]") {
  auto c = parse({"cache", "warm", "alpine:3.19", "registry.test:5000/app:v1", "--platform",
                  "linux/arm64", "--platform", "linux/amd64", "--concurrency", "8", "--proxy",
                  "http://cache:3128", "--ca-bundle", "/etc/roots.pem", "--json"});
  CHECK(c.command == Command::kCacheWarm);
  CHECK(c.warm.images == std::vector<std::string>{"alpine:3.19", "registry.test:5000/app:v1"});
  CHECK(c.warm.platforms == std::vector<std::string>{"linux/arm64", "linux/amd64"});
  CHECK(c.warm.concurrency == 8);
  CHECK(c.warm.proxyUrl == "http://cache:3128");
  CHECK(c.warm.caBundle == "/etc/roots.pem");
  CHECK(c.json);
  auto defaults = parse({"cache", "warm", "alpine"});
  CHECK(defaults.warm.concurrency == 4);
  CHECK(defaults.warm.proxyUrl.empty()); // $HTTPS_PROXY, else http://127.0.0.1:3128
  CHECK(defaults.warm.caBundle.empty());
  CHECK_THROWS(parse({"cache", "warm", "alpine", "--concurrency", "0"}));
}

TEST_CASE("cache warm reads a list file after the images named, skipping comments and repeats",
          "[app][warm]") {
  TempFile list("# images for the fleet\nalpine:3.19\n\n  busybox:1.36  # the small one\r\n"
                "alpine:3.19\n");
  WarmOptions options;
  options.images = {"nginx:1.25", "busybox:1.36"};
  options.listFile = list.path;
  CHECK(warmImageNames(options) ==
        std::vector<std::string>{"nginx:1.25", "busybox:1.36", "alpine:3.19"});
  options.listFile = "/no/such/list";
  CHECK_THROWS(warmImageNames(options));
}

TEST_CASE("fleet flags: --store s3:// with keys, --store-registries and --store-timeout",
          "[app][cli][fleet]") {
  auto defaults = parse({"serve"});
  CHECK_FALSE(defaults.serve.s3Store.has_value());
  CHECK(defaults.serve.storeRegistries.empty());
  CHECK(defaults.serve.storeTimeout == std::chrono::seconds(2));
  ::setenv("AWS_ACCESS_KEY_ID", "AKIDTEST", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
  auto c =
      parse({"serve", "--store", "s3://fleet-bucket/cache", "--s3-endpoint",
             "http://127.0.0.1:7480", "--s3-allow-plain-http", "--store-registries", "docker.io",
             "--store-registries", "*.corp.example:5000", "--store-timeout", "500ms"});
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  REQUIRE(c.serve.s3Store.has_value());
  CHECK(c.serve.s3Store->bucket == "fleet-bucket");
  CHECK(c.serve.s3Store->prefix == "cache");
  CHECK(c.serve.s3Store->region == "us-east-1");
  CHECK(c.serve.s3Store->credentials.accessKeyId == "AKIDTEST");
  CHECK(c.serve.storeRegistries == std::vector<std::string>{"docker.io", "*.corp.example:5000"});
  CHECK(c.serve.storeTimeout == std::chrono::milliseconds(500));
  CHECK_THROWS_WITH(parse({"serve", "--store-registries", "a/b"}),
                    Catch::Contains("bad --store-registries entry 'a/b'"));
  CHECK_THROWS(parse({"serve", "--store-timeout", "0s"}));
}

TEST_CASE("serve --max-idle-connections and its config key bound idle connections", "[app][cli]") {
  CHECK(parse({"serve"}).serve.maxIdleConnections == 4096);
  CHECK(parse({"serve", "--max-idle-connections", "7"}).serve.maxIdleConnections == 7);
  CHECK(parse({"serve", "--max-idle-connections", "0"}).serve.maxIdleConnections == 0); // no bound
  TempFile config("max-idle-connections = 300\n");
  auto fromFile = parse({"serve", "--config", config.path.string()});
  CHECK(fromFile.serve.maxIdleConnections == 300);
  auto overridden =
      parse({"serve", "--config", config.path.string(), "--max-idle-connections", "12"});
  CHECK(overridden.serve.maxIdleConnections == 12);
  CHECK_THROWS(parse({"serve", "--max-idle-connections", "-1"}));
  auto example = std::filesystem::path(REGCACHE_SOURCE_DIR) / "app" / "regcache.example.toml";
  CHECK(parse({"serve", "--config", example.string()}).serve.maxIdleConnections == 4096);
}
