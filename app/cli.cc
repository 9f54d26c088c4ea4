#include "app/cli.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

#include "app/build_info.h"
#include "app/s3_options.h"
#include "app/units.h"
#include "proxy/access/target_policy.h"
#include "proxy/net/cidr.h"
#include "proxy/net/no_proxy.h"
#include "proxy/net/parent_proxy.h"
#include "proxy/session/mirror_route.h"

namespace regcache::app {

struct Cli::Raw {
  std::string configFile;
  std::string cacheMaxSize = "auto";
  std::string tagTtl = "5m";
  std::string offlineAuth = "deny";
  std::string upstreamAuth;
  std::string user;
  bool noCache = false;
  std::string bundleFile;
  std::string bundleUrl;
  std::vector<std::string> targets{"all"};
  std::string installRoot = "/";
  std::vector<std::string> registries;
  std::vector<std::string> fingerprints;
  std::string bundleCaFile;
  std::string proxyUrl;
  std::string noProxy = "localhost,127.0.0.1,::1";
  std::string mirrorUrl;
  std::string clientFile = "all";
  std::string gatePath = "/usr/libexec/regcache/regcache-proxy-gate";
  DoctorOptions doctor;
  std::string doctorSystemBundle = DoctorOptions{}.systemBundle.string();
  std::string doctorDaemonJson = DoctorOptions{}.daemonJson.string();
  std::string doctorHostsDir = DoctorOptions{}.containerdHostsDir.string();
  std::string doctorBuildkitd = DoctorOptions{}.buildkitdToml.string();
  std::string doctorGateDir = DoctorOptions{}.gateEnvDir.string();
  bool doctorNoSystemctl = false;
  std::vector<std::string> permitDns;
  std::string rotateOverlap = "7d";
  std::string cacheRef;
  WarmOptions warm; // cache warm
  std::string gcOlderThan;
  S3Flags storeGc;                    // store gc
  std::vector<std::string> storeGcCa; // store gc --upstream-ca
  bool dryRun = false;                // store gc --dry-run
  bool rotateNow = false;
  std::string leafValidity = "7d";
  std::string caRotateEvery = "0";
  std::string caOverlap = "7d";
  std::vector<std::string> listen{"127.0.0.1:3128"};
  std::string dataDir;
  unsigned workers = 0;
  std::vector<std::string> intercept{"*"};
  std::vector<std::string> tunnel;
  std::vector<std::string> allowClient = proxy::ServerOptions{}.allowClients;
  std::vector<std::string> allowTarget;
  std::vector<std::string> denyTarget;
  bool readOnly = false;
  std::string proxyAuthFile;
  bool hashToken = false;
  bool hashAdmin = false;
  std::vector<std::string> adminAllow = proxy::ServerOptions{}.adminAllow;
  bool publicCatalog = false;
  std::vector<std::string> dnsServers;
  std::vector<std::string> upstreamCa;
  std::string logLevel = "info";
  std::string accessLog;
  std::string accessLogFormat = proxy::ServerOptions{}.accessLogFormat;
  std::string maxRequestLine = "8KiB";
  std::string maxHeaderBytes = "64KiB";
  std::size_t maxHeaders = 100;
  std::string idleTimeout = "60s";
  std::string handshakeTimeout = "10s";
  std::string headerTimeout = "30s";
  std::string connectTimeout = "10s";
  std::string upstreamTimeout = "300s";
  std::size_t leafCacheSize = 1024;
  // Bounds a hostile peer can push on (issue #9 item 13, 14).
  std::string tunnelIdleTimeout = "300s";
  std::size_t maxConnectionsPerClient = 256;
  std::size_t mintsPerClientPerMinute = 30;
  std::string fillStallTimeout = "60s";
  std::string maxBlobSize = "64GiB";
  // Idle client connections across the workers (issue 11, workload 7).
  std::size_t maxIdleConnections = proxy::ServerOptions{}.maxIdleConnections;
  // serve --print-config / --check-config (issue 14): actions, not settings.
  bool printConfig = false;
  bool checkConfig = false;
  // The mirror endpoint (issue #13).
  std::vector<std::string> mirrorRegistries;
  std::vector<std::string> mirrorTlsListen;
  // The blob store's I/O threads (issue #11).
  unsigned storeIoThreads = 2;
  // Restarts that drop nothing, DNS that survives a dead resolver (issue #13).
  std::string drainTimeout = "30s";
  std::string dnsMaxTtl = "300s";
  std::string dnsNegativeTtl = "10s";
  // How often the evictor checks --cache-max-size (and the hit counters are flushed).
  std::string evictionInterval = "10s";
  // Chaining through a parent proxy (issue #12 item 5).
  std::string upstreamProxy;
  std::vector<std::string> upstreamNoProxy;
  // A fleet sharing one bucket (issue #12, docs/fleet.md): --store s3:// and --s3-* (the shared
  // parser, app/s3_options.h), the registries it may serve, and how long a stat may take.
  S3Flags serveStore;
  std::vector<std::string> storeRegistries;
  std::string storeTimeout = "2s";
};

std::filesystem::path defaultDataDir() {
  if (const char *env = std::getenv("REGCACHE_DATA_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  if (::geteuid() == 0) return "/var/lib/regcache";
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    return std::filesystem::path(xdg) / "regcache";
  }
  if (const char *home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::filesystem::path(home) / ".cache" / "regcache";
  }
  return "regcache-data";
}

namespace {

bool isIp(const std::string &text, int family) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(family, text.c_str(), buf) == 1;
}

uint16_t parsePort(const std::string &text, const std::string &whole) {
  if (text.empty() || text.size() > 5 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    throw std::invalid_argument("bad port in '" + whole + "'");
  }
  unsigned long port = std::stoul(text);
  if (port > 65535) throw std::invalid_argument("bad port in '" + whole + "'");
  return static_cast<uint16_t>(port);
}

} // namespace

proxy::ListenAddress parseListenAddress(const std::string &text) {
  proxy::ListenAddress out;
  std::string host;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find("]:");
    if (close == std::string::npos) {
      throw std::invalid_argument("bad listen address '" + text + "' (use [IPv6]:PORT)");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    if (!isIp(host, AF_INET6)) throw std::invalid_argument("bad IPv6 address in '" + text + "'");
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) {
      throw std::invalid_argument("bad listen address '" + text + "' (use ADDR:PORT)");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (!isIp(host, AF_INET)) {
      throw std::invalid_argument("bad listen address '" + text +
                                  "' (an IPv4 address, or [IPv6] in brackets)");
    }
  }
  out.host = host;
  out.port = parsePort(port, text);
  return out;
}

void validateDnsServer(const std::string &text) {
  if (isIp(text, AF_INET) || isIp(text, AF_INET6)) return;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find("]:");
    if (close != std::string::npos && isIp(text.substr(1, close - 1), AF_INET6)) {
      parsePort(text.substr(close + 2), text);
      return;
    }
  } else if (auto colon = text.rfind(':'); colon != std::string::npos) {
    if (isIp(text.substr(0, colon), AF_INET)) {
      parsePort(text.substr(colon + 1), text);
      return;
    }
  }
  throw std::invalid_argument("bad --dns-server '" + text + "' (use IP, IP:PORT or [IPv6]:PORT)");
}

Cli::Cli() : raw_(std::make_unique<Raw>()) {
  app_.require_subcommand(0, 1);
  app_.set_help_all_flag("--help-all", "Show help for every command");

  const std::string dataDirHelp =
      "Where the CA and the cache live (default: $REGCACHE_DATA_DIR, else /var/lib/regcache as "
      "root, else $XDG_CACHE_HOME/regcache or ~/.cache/regcache)";

  serve_ = app_.add_subcommand("serve", "Run the proxy");
  serve_->add_option("--config", raw_->configFile,
                     "TOML file setting any of these options by name, e.g. data-dir = \"/srv\" "
                     "(flags given on the command line win)");
  serve_
      ->add_option("--listen", raw_->listen,
                   "Address to listen on, ADDR:PORT or [IPv6]:PORT; repeatable")
      ->capture_default_str();
  serve_->add_option("--data-dir", raw_->dataDir, dataDirHelp);
  serve_->add_option("--workers", raw_->workers, "Worker threads (0: one per core)")
      ->capture_default_str();
  serve_
      ->add_option(
          "--intercept", raw_->intercept,
          "Hosts whose TLS is terminated: *, *.example.com, .example.com or a host; repeatable")
      ->capture_default_str();
  serve_->add_option("--tunnel", raw_->tunnel,
                     "Hosts passed through as raw TCP (wins over --intercept); repeatable");
  serve_
      ->add_option("--allow-client", raw_->allowClient,
                   "Client address ranges that may use the proxy (others get 403); repeatable, "
                   "replaces the default")
      ->capture_default_str();
  serve_->add_option("--allow-target", raw_->allowTarget,
                     "Also reach this CIDR, IP, HOST or *.DOMAIN (optionally :PORT), though "
                     "loopback, private or a port below 1024; repeatable");
  serve_->add_option("--deny-target", raw_->denyTarget,
                     "Never reach this CIDR, IP, HOST or *.DOMAIN (optionally :PORT); repeatable");
  serve_->add_option("--proxy-auth-file", raw_->proxyAuthFile,
                     "Users who may use the proxy (mode 0600; lines user:verifier from "
                     "`regcache proxy-auth hash`); without it no proxy credentials are asked");
  serve_->add_flag("--read-only", raw_->readOnly,
                   "Answer POST, PUT, PATCH and DELETE under /v2/ with 405 UNSUPPORTED");
  // Issue 9: the admin endpoints answer admins only.
  serve_
      ->add_option("--admin-allow", raw_->adminAllow,
                   "Client ranges that may read /metrics and /v2/_catalog (besides proxy users "
                   "marked admin); repeatable, replaces the default")
      ->capture_default_str();
  serve_->add_flag("--public-catalog", raw_->publicCatalog,
                   "Answer /v2/_catalog to every allowed client, listing only repositories with "
                   "public content");
  serve_->add_option("--dns-server", raw_->dnsServers,
                     "DNS server for upstream names, IP[:PORT] or [IPv6]:PORT; repeatable "
                     "(default: the system's)");
  serve_
      ->add_option(
          "--upstream-ca", raw_->upstreamCa,
          "Extra PEM roots trusted for upstream TLS, on top of the system store; repeatable")
      ->check(CLI::ExistingFile);
  serve_->add_option("--log-level", raw_->logLevel, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  serve_->add_option("--access-log", raw_->accessLog,
                     "One line per request to FILE, or - for stdout (default: stderr)");
  serve_
      ->add_option("--access-log-format", raw_->accessLogFormat,
                   "text (key=value) or json (one object per line)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  serve_->add_option("--max-request-line", raw_->maxRequestLine, "Longest request line (size)")
      ->capture_default_str();
  serve_
      ->add_option("--max-header-bytes", raw_->maxHeaderBytes,
                   "Largest request or response head (size)")
      ->capture_default_str();
  serve_->add_option("--max-headers", raw_->maxHeaders, "Most header fields in a head")
      ->capture_default_str();
  serve_
      ->add_option("--idle-timeout", raw_->idleTimeout,
                   "Close a client connection idle this long (duration)")
      ->capture_default_str();
  serve_
      ->add_option("--handshake-timeout", raw_->handshakeTimeout,
                   "Longest TLS handshake (duration)")
      ->capture_default_str();
  serve_
      ->add_option("--header-timeout", raw_->headerTimeout,
                   "Longest wait for a complete request head (duration)")
      ->capture_default_str();
  serve_
      ->add_option("--connect-timeout", raw_->connectTimeout, "Longest upstream connect (duration)")
      ->capture_default_str();
  serve_
      ->add_option("--upstream-timeout", raw_->upstreamTimeout,
                   "Longest upstream silence before or during a response (duration)")
      ->capture_default_str();
  serve_->add_option("--leaf-cache-size", raw_->leafCacheSize, "Leaf certificates kept in memory")
      ->capture_default_str();
  serve_
      ->add_option("--tag-ttl", raw_->tagTtl,
                   "Serve a manifest fetched by tag from the cache this long before asking "
                   "upstream whether it changed (duration)")
      ->capture_default_str();
  serve_
      ->add_option("--offline-auth", raw_->offlineAuth,
                   "Content only ever fetched with credentials, while upstream cannot check a "
                   "client's: deny, or trust-cached (serve it to clients that send credentials)")
      ->check(CLI::IsMember({"deny", "trust-cached"}))
      ->capture_default_str();
  serve_->add_option("--user", raw_->user,
                     "Started as root: become this user once the ports are bound (the data dir "
                     "is handed to it)");
  serve_->add_option("--upstream-auth", raw_->upstreamAuth,
                     "TOML file of upstream accounts per registry host (mode 0600), used for "
                     "clients that send no Authorization");
  serve_
      ->add_option("--cache-max-size", raw_->cacheMaxSize,
                   "Evict least recently used blobs past this size, e.g. 50GiB (auto: half of "
                   "the filesystem holding --data-dir)")
      ->capture_default_str();
  serve_->add_flag("--no-cache", raw_->noCache,
                   "Do not cache registry content: a plain intercepting proxy");
  serve_
      ->add_option("--leaf-validity", raw_->leafValidity,
                   "Validity of minted leaf certificates (duration; whole hours)")
      ->capture_default_str();
  serve_
      ->add_option("--ca-rotate-every", raw_->caRotateEvery,
                   "Rotate the CA root this often (duration; 0: never)")
      ->capture_default_str();
  serve_
      ->add_option("--ca-overlap", raw_->caOverlap,
                   "With --ca-rotate-every: how long a new root is published before it signs "
                   "(must outlast daemons that loaded the old bundle)")
      ->capture_default_str();
  // Bounds a hostile peer can push on.
  serve_
      ->add_option("--tunnel-idle-timeout", raw_->tunnelIdleTimeout,
                   "Close a CONNECT tunnel when no byte moved either way this long (duration; "
                   "0: never)")
      ->capture_default_str();
  serve_
      ->add_option("--max-connections-per-client", raw_->maxConnectionsPerClient,
                   "Open connections per client IP address; past it HTTP gets a 503 and CONNECT "
                   "is closed (0: unlimited)")
      ->capture_default_str();
  serve_
      ->add_option("--mints-per-client-per-minute", raw_->mintsPerClientPerMinute,
                   "New leaf certificates minted per client IP address per minute, as a burst; "
                   "past it a handshake for an uncached name is refused (0: unlimited)")
      ->capture_default_str();
  serve_
      ->add_option("--fill-stall-timeout", raw_->fillStallTimeout,
                   "Abandon a cache fill that gets no byte from upstream this long (duration)")
      ->capture_default_str();
  serve_
      ->add_option("--max-blob-size", raw_->maxBlobSize,
                   "Pass through, without storing, a blob announced larger than this (size)")
      ->capture_default_str();
  serve_
      ->add_option("--max-idle-connections", raw_->maxIdleConnections,
                   "Idle keep-alive client connections kept across all workers; past it the "
                   "longest-idle ones are closed (0: no bound)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  // Actions on the configuration rather than settings (issue 14); no config key.
  serve_->add_flag("--print-config", raw_->printConfig,
                   "Print the effective configuration (file, flags and defaults merged, secrets "
                   "redacted) as TOML, and exit");
  serve_->add_flag("--check-config", raw_->checkConfig,
                   "Check the --config file (every key and value, and the files it names); "
                   "print FILE:LINE: reason for each problem and exit non-zero if any");
  // The mirror endpoint (issue #13, docs/mirror.md).
  serve_->add_option("--mirror-registries", raw_->mirrorRegistries,
                     "Registries the mirror endpoint (origin-form /v2/ pulls, upstream from ?ns=, "
                     "Docker Hub without) may reach: docker.io, HOST[:PORT] or *.DOMAIN[:PORT]; "
                     "repeatable (default: every registry the target policy allows)");
  serve_->add_option("--mirror-tls-listen", raw_->mirrorTlsListen,
                     "Also serve the mirror endpoint (and the admin endpoints) over TLS on "
                     "ADDR:PORT, with leaves from regcache's CA for the name or address a client "
                     "reaches; repeatable (default: none)");
  serve_
      ->add_option("--store-io-threads", raw_->storeIoThreads,
                   "Threads that write, fsync, hash and read blobs off the event loops")
      ->check(CLI::Range(1u, 64u))
      ->capture_default_str();
  // Restarts that drop nothing, DNS that survives a dead resolver (issue #13).
  serve_
      ->add_option("--drain-timeout", raw_->drainTimeout,
                   "On SIGTERM, stop accepting and let in-flight responses and fills finish "
                   "for up to this long before exiting (duration; 0: exit at once)")
      ->capture_default_str();
  serve_
      ->add_option("--dns-max-ttl", raw_->dnsMaxTtl,
                   "Keep an upstream's DNS answer at most this long, even if its TTL is longer "
                   "(duration; 0: do not cache answers)")
      ->capture_default_str();
  serve_
      ->add_option("--dns-negative-ttl", raw_->dnsNegativeTtl,
                   "Remember that a name does not resolve for this long (duration; 0: do not)")
      ->capture_default_str();
  serve_
      ->add_option("--eviction-interval", raw_->evictionInterval,
                   "How often the cache size is checked against --cache-max-size and least "
                   "recently used blobs evicted (duration)")
      ->capture_default_str();
  // Chaining through a parent proxy (issue #12 item 5, docs/chaining.md).
  serve_->add_option("--upstream-proxy", raw_->upstreamProxy,
                     "Send every upstream connection through this parent proxy with CONNECT: "
                     "http://HOST:PORT or http://USER:PASSWORD@HOST:PORT (default: direct)");
  serve_
      ->add_option("--upstream-no-proxy", raw_->upstreamNoProxy,
                   "Hosts connected to directly despite --upstream-proxy, NO_PROXY-style: "
                   "NAME (and names under it), .DOMAIN or *.DOMAIN, IP, CIDR, *, optionally "
                   ":PORT; comma-separated or repeatable")
      ->delimiter(',');
  // A fleet sharing one bucket (issue #12, docs/fleet.md).
  addS3Flags(*serve_, raw_->serveStore);
  serve_->add_option(
      "--store-registries", raw_->storeRegistries,
      "Registries whose blobs may be served from the --store bucket on a local "
      "miss, after upstream's own yes to a HEAD: docker.io, HOST[:PORT], "
      "*.DOMAIN[:PORT] or *; repeatable (default: none, the bucket only gets fills)");
  serve_
      ->add_option("--store-timeout", raw_->storeTimeout,
                   "A --store bucket that takes longer than this to say whether it has a blob "
                   "is skipped, and the pull goes upstream (duration)")
      ->capture_default_str();

  CLI::App *ca = app_.add_subcommand("ca", "Manage the proxy's certificate authority");
  ca->require_subcommand(1);
  caInit_ = ca->add_subcommand("init", "Create the CA in <data-dir>/ca");
  caBundle_ = ca->add_subcommand("bundle", "Print the PEM bundle of roots clients must trust");
  caShow_ = ca->add_subcommand("show", "Describe the CA's roots");
  caShow_->add_flag("--json", json_, "Print one JSON document (for jq and scripts)");
  caRotate_ = ca->add_subcommand(
      "rotate", "Publish a new root now; it signs after the overlap; the old root is retired "
                "once its last leaf has expired");
  caInit_
      ->add_option("--permit-dns", raw_->permitDns,
                   "Limit the root to these DNS names and their subdomains (nameConstraints), "
                   "e.g. docker.io,.docker.io,ghcr.io; other hosts are tunnelled")
      ->delimiter(',');
  caRotate_
      ->add_option("--overlap", raw_->rotateOverlap,
                   "How long the new root is published before it signs (duration)")
      ->capture_default_str();
  caRotate_->add_flag("--now", raw_->rotateNow,
                      "Emergency (compromise): sign with the new root at once and retire the old "
                      "one immediately");
  caRotate_
      ->add_option("--leaf-validity", raw_->leafValidity,
                   "Validity of the leaves the proxy mints, which the old root must outlive")
      ->capture_default_str();
  caInstall_ = ca->add_subcommand(
      "install", "Write the bundle where the system store, dockerd, containerd and buildkitd "
                 "read it (restart those daemons afterwards)");
  auto *source = caInstall_->add_option_group("source", "Where the bundle comes from");
  source->add_option("--bundle", raw_->bundleFile, "A PEM bundle file")->check(CLI::ExistingFile);
  source->add_option("--bundle-url", raw_->bundleUrl,
                     "The proxy's bundle, e.g. http://10.0.0.1:3128/ca.crt (default: the local "
                     "CA in --data-dir)");
  source->require_option(0, 1);
  caInstall_
      ->add_option("--target", raw_->targets,
                   "system, docker, containerd, buildkit or all; repeatable or comma-separated")
      ->delimiter(',')
      ->check(CLI::IsMember({"system", "docker", "containerd", "buildkit", "all"}))
      ->capture_default_str();
  caInstall_
      ->add_option("--root", raw_->installRoot,
                   "Install into this root instead of / (for building VM images)")
      ->capture_default_str();
  caInstall_
      ->add_option("--registry", raw_->registries,
                   "Registry hosts for the docker, containerd and buildkit targets; "
                   "repeatable (default: docker.io, ghcr.io, quay.io, gcr.io, "
                   "registry.k8s.io and other public ones)")
      ->delimiter(',');
  // Trusting what --bundle-url answered: pin the roots, and verify an https:// server.
  caInstall_
      ->add_option("--fingerprint", raw_->fingerprints,
                   "Install only the CA certificates with this SHA-256 (as `regcache ca show` "
                   "prints it; colons and case optional), refusing a bundle without one; "
                   "repeatable, e.g. for both roots during a rotation")
      ->delimiter(',');
  caInstall_
      ->add_option("--ca-file", raw_->bundleCaFile,
                   "PEM roots trusted, besides the system ones, for an https:// --bundle-url")
      ->check(CLI::ExistingFile);
  clientConfig_ = app_.add_subcommand(
      "client-config", "Print the proxy settings for dockerd, containerd, buildkitd and kind");
  clientConfig_
      ->add_option("--proxy", raw_->proxyUrl,
                   "The proxy URL clients use, e.g. http://10.0.0.1:3128")
      ->required();
  clientConfig_->add_option("--no-proxy", raw_->noProxy, "Hosts that bypass the proxy")
      ->capture_default_str();
  clientConfig_->add_option("--mirror", raw_->mirrorUrl,
                            "The mirror endpoint clients fall back from (default: --proxy; "
                            "https://HOST:PORT for --mirror-tls-listen)");
  clientConfig_
      ->add_option("--registry", raw_->registries,
                   "Registries to configure; repeatable (default: docker.io, ghcr.io, quay.io, "
                   "gcr.io, registry.k8s.io and other public ones)")
      ->delimiter(',');
  clientConfig_
      ->add_option("--client", raw_->clientFile,
                   "Print one file only: containerd-hosts (of the first --registry), "
                   "containerd-config, buildkitd, daemon-json, docker-dropin, containerd-dropin, "
                   "registries-conf or kind")
      ->capture_default_str();
  clientConfig_
      ->add_option("--gate", raw_->gatePath, "Where regcache-proxy-gate is installed in the VM")
      ->capture_default_str();
  doctor_ = app_.add_subcommand(
      "doctor", "Inside a VM: check that this machine can use regcache, and print each fix");
  doctor_->add_option("--proxy", raw_->doctor.proxyUrl, "The proxy URL, e.g. http://10.0.0.1:3128")
      ->required();
  doctor_->add_option("--image", raw_->doctor.image,
                      "REGISTRY/REPO:TAG whose manifest to HEAD through the proxy");
  doctor_
      ->add_option("--registry", raw_->doctor.registries,
                   "Registries NO_PROXY must not exclude (default: docker.io and other public "
                   "ones); repeatable")
      ->delimiter(',');
  doctor_->add_option("--system-bundle", raw_->doctorSystemBundle, "The system trust store (PEM)")
      ->capture_default_str();
  doctor_->add_option("--daemon-json", raw_->doctorDaemonJson, "dockerd's daemon.json")
      ->capture_default_str();
  doctor_->add_option("--hosts-dir", raw_->doctorHostsDir, "containerd's hosts.toml directory")
      ->capture_default_str();
  doctor_->add_option("--buildkitd-toml", raw_->doctorBuildkitd, "buildkitd's config")
      ->capture_default_str();
  doctor_->add_option("--gate-dir", raw_->doctorGateDir, "Where regcache-proxy-gate writes")
      ->capture_default_str();
  doctor_->add_flag("--no-systemctl", raw_->doctorNoSystemctl,
                    "Do not read the daemons' environment with systemctl show");
  doctor_->add_flag("--json", raw_->doctor.json, "Print the checks as JSON");
  CLI::App *cacheCommand = app_.add_subcommand("cache", "Inspect the registry cache");
  cacheCommand->require_subcommand(1);
  cacheList_ =
      cacheCommand->add_subcommand("ls", "List cached tags: registry/repository:tag, "
                                         "digest, size, last pull, last check with upstream");
  cacheStats_ = cacheCommand->add_subcommand("stats", "Entries, bytes and hits in the cache");
  cacheVerify_ = cacheCommand->add_subcommand(
      "verify", "Re-hash every cached blob; report and remove the corrupt ones");
  for (CLI::App *command : {cacheList_, cacheStats_, cacheVerify_}) {
    command->add_flag("--json", json_, "Print one JSON document (for jq and scripts)");
  }
  cacheRemove_ = cacheCommand->add_subcommand(
      "rm", "Purge a digest, a repository (REGISTRY/REPO) or an image (REGISTRY/REPO:TAG, with "
            "the manifests and blobs it references that no other repository was served)");
  cacheRemove_
      ->add_option("REF", raw_->cacheRef, "sha256:<hex>, REGISTRY/REPO or REGISTRY/REPO:TAG")
      ->required();
  cacheGc_ = cacheCommand->add_subcommand(
      "gc", "Remove files without an index row, rows without a file, tags without a manifest, "
            "and with --older-than blobs unused for that long");
  cacheGc_->add_option("--older-than", raw_->gcOlderThan, "e.g. 30d; default: keep every blob");
  cacheWarm_ = cacheCommand->add_subcommand(
      "warm", "Pull images through a running proxy so that it caches them ahead of time: every "
              "platform of an index (or --platform), every config and layer");
  cacheWarm_->add_option("IMAGE", raw_->warm.images,
                         "docker.io/library/alpine:3.19, registry:5000/app@sha256:...");
  cacheWarm_->add_option("--file", raw_->warm.listFile,
                         "Images to warm, one a line (blank lines and # comments skipped)");
  cacheWarm_->add_option("--proxy", raw_->warm.proxyUrl,
                         "The running regcache, http://[USER:SECRET@]HOST:PORT (default: "
                         "$HTTPS_PROXY, else http://127.0.0.1:3128)");
  cacheWarm_->add_option("--ca-bundle", raw_->warm.caBundle,
                         "The proxy's roots (PEM); default: GET /ca.crt from the proxy");
  cacheWarm_->add_option("--platform", raw_->warm.platforms,
                         "os/arch[/variant] of an index to warm (repeatable; default: all)");
  cacheWarm_->add_option("--concurrency", raw_->warm.concurrency, "Blobs in flight")
      ->check(CLI::Range(1u, 64u))
      ->capture_default_str();
  cacheWarm_->add_flag("--json", json_, "Print a summary document (for jq and scripts)");
  CLI::App *storeCommand =
      app_.add_subcommand("store", "Manage a blob store shared by a fleet (an S3-API bucket)");
  storeCommand->require_subcommand(1);
  storeGc_ = storeCommand->add_subcommand(
      "gc", "Remove blobs no host used for --older-than (the later of the object's upload and "
            "its use marker), orphaned markers, and multipart uploads begun before then");
  storeGc_->add_option("--older-than", raw_->gcOlderThan, "e.g. 30d")->required();
  addS3Flags(*storeGc_, raw_->storeGc, true);
  storeGc_->add_option("--upstream-ca", raw_->storeGcCa,
                       "Extra roots (PEM) that verify an https:// --s3-endpoint (repeatable)");
  storeGc_->add_flag("--dry-run", raw_->dryRun, "Report what would be removed; change nothing");
  storeGc_->add_flag("--json", json_, "Print one JSON document (for jq and scripts)");
  for (CLI::App *sub : {caInit_, caBundle_, caShow_, caRotate_, caInstall_, cacheList_, cacheStats_,
                        cacheVerify_, cacheRemove_, cacheGc_, clientConfig_}) {
    sub->add_option("--data-dir", raw_->dataDir, dataDirHelp);
  }
  CLI::App *proxyAuth = app_.add_subcommand("proxy-auth", "Proxy credentials");
  proxyAuth->require_subcommand(1);
  proxyAuthHash_ = proxyAuth->add_subcommand(
      "hash", "Read a password (or with --token a token) on stdin; print the verifier for a "
              "--proxy-auth-file line user:VERIFIER");
  proxyAuthHash_->add_flag("--token", raw_->hashToken,
                           "The secret is a long random token: a fast SHA-256 verifier");
  proxyAuthHash_->add_flag("--admin", raw_->hashAdmin,
                           "Mark the user an admin (may read /metrics and /v2/_catalog)");
  version_ = app_.add_subcommand("version", "Print the version of regcache and its libraries");
  version_->add_flag("--json", json_, "Print one JSON document (for jq and scripts)");
}

Cli::~Cli() = default;

void Cli::applyConfigFile(const std::string &path) {
  // CLI11 reads config files only for the top-level app, so `serve --config` applies the file
  // itself, the way CLI11 would: an option set on the command line keeps its value.
  if (!std::filesystem::is_regular_file(path)) {
    throw std::invalid_argument("config file not found: " + path);
  }
  std::vector<CLI::ConfigItem> items = CLI::ConfigTOML().from_file(path);
  for (const auto &item : items) {
    if (item.name == "++" || item.name == "--") continue; // section markers
    std::string name = item.parents.empty() ? item.name : item.fullname();
    CLI::Option *option = serve_->get_option_no_throw("--" + name);
    if (option == nullptr || !isConfigKey(name)) {
      throw std::invalid_argument("unknown option '" + name + "' in " + path);
    }
    if (option->count() != 0) continue;
    option->add_result(item.inputs);
    option->run_callback();
  }
}

ParsedCommand Cli::parse(int argc, const char *const *argv) {
  app_.parse(argc, argv);
  ParsedCommand out;
  out.dataDir = raw_->dataDir.empty() ? defaultDataDir() : std::filesystem::path(raw_->dataDir);
  if (caInit_->parsed())
    out.command = Command::kCaInit;
  else if (caBundle_->parsed())
    out.command = Command::kCaBundle;
  else if (caShow_->parsed())
    out.command = Command::kCaShow;
  else if (caRotate_->parsed())
    out.command = Command::kCaRotate;
  else if (caInstall_->parsed())
    out.command = Command::kCaInstall;
  else if (clientConfig_->parsed())
    out.command = Command::kClientConfig;
  else if (doctor_->parsed())
    out.command = Command::kDoctor;
  else if (cacheList_->parsed())
    out.command = Command::kCacheList;
  else if (cacheStats_->parsed())
    out.command = Command::kCacheStats;
  else if (cacheVerify_->parsed())
    out.command = Command::kCacheVerify;
  else if (cacheRemove_->parsed())
    out.command = Command::kCacheRemove;
  else if (cacheGc_->parsed())
    out.command = Command::kCacheGc;
  else if (cacheWarm_->parsed())
    out.command = Command::kCacheWarm;
  else if (storeGc_->parsed())
    out.command = Command::kStoreGc;
  else if (version_->parsed())
    out.command = Command::kVersion;
  else if (proxyAuthHash_->parsed())
    out.command = Command::kProxyAuthHash;
  else if (serve_->parsed())
    out.command = Command::kServe;
  out.permitDns = raw_->permitDns;
  out.bundleFile = raw_->bundleFile;
  out.bundleUrl = raw_->bundleUrl;
  out.targets = raw_->targets;
  out.installRoot = raw_->installRoot;
  out.registries = raw_->registries;
  out.fingerprints = raw_->fingerprints;
  out.bundleCaFile = raw_->bundleCaFile;
  out.proxyUrl = raw_->proxyUrl;
  out.noProxy = raw_->noProxy;
  out.mirrorUrl = raw_->mirrorUrl;
  out.clientFile = raw_->clientFile;
  out.gatePath = raw_->gatePath;
  out.doctor = raw_->doctor;
  out.doctor.systemBundle = raw_->doctorSystemBundle;
  out.doctor.daemonJson = raw_->doctorDaemonJson;
  out.doctor.containerdHostsDir = raw_->doctorHostsDir;
  out.doctor.buildkitdToml = raw_->doctorBuildkitd;
  out.doctor.gateEnvDir = raw_->doctorGateDir;
  out.doctor.useSystemctl = !raw_->doctorNoSystemctl;
  out.overlap = parseDuration(raw_->rotateOverlap);
  out.cacheRef = raw_->cacheRef;
  out.warm = raw_->warm;
  out.hashToken = raw_->hashToken;
  out.hashAdmin = raw_->hashAdmin;
  if (!raw_->gcOlderThan.empty()) out.gcOlderThan = parseDuration(raw_->gcOlderThan);
  out.storeGc = raw_->storeGc;
  out.storeGcCaFiles.assign(raw_->storeGcCa.begin(), raw_->storeGcCa.end());
  out.dryRun = raw_->dryRun;
  out.rotateNow = raw_->rotateNow;
  out.json = json_;
  out.leafValidity =
      std::chrono::duration_cast<std::chrono::hours>(parseDuration(raw_->leafValidity));
  if (out.command != Command::kServe) return out;
  if (raw_->checkConfig) { // checked key by key by runCheckConfig, so a bad file reports all
    out.command = Command::kCheckConfig;
    out.configFile = raw_->configFile;
    return out;
  }
  if (raw_->printConfig) out.command = Command::kPrintConfig;
  if (!raw_->configFile.empty()) {
    applyConfigFile(raw_->configFile);
    out.dataDir = raw_->dataDir.empty() ? defaultDataDir() : std::filesystem::path(raw_->dataDir);
  }

  proxy::ServerOptions &o = out.serve;
  o.listen.clear();
  for (const auto &address : raw_->listen)
    o.listen.push_back(parseListenAddress(address));
  o.dataDir = out.dataDir;
  o.build = {REGCACHE_VERSION, gitDescribe(), REGCACHE_BUILD_TYPE};
  o.workers = raw_->workers;
  o.interceptPatterns = raw_->intercept;
  o.allowClients = raw_->allowClient;
  o.allowTargets = raw_->allowTarget;
  o.denyTargets = raw_->denyTarget;
  o.readOnly = raw_->readOnly;
  o.proxyAuthFile = raw_->proxyAuthFile;
  o.adminAllow = raw_->adminAllow;
  o.publicCatalog = raw_->publicCatalog;
  for (const auto &text : o.adminAllow) {
    if (!proxy::net::Cidr::parse(text)) throw std::invalid_argument("bad --admin-allow " + text);
  }
  // Bad values stop `serve` here, with the flag named, rather than at start-up.
  for (const auto &text : o.allowClients) {
    if (!proxy::net::Cidr::parse(text)) throw std::invalid_argument("bad --allow-client " + text);
  }
  (void)proxy::parseTargetRules(o.allowTargets);
  (void)proxy::parseTargetRules(o.denyTargets);
  o.tunnelPatterns = raw_->tunnel;
  for (const auto &server : raw_->dnsServers)
    validateDnsServer(server);
  o.dnsServers = raw_->dnsServers;
  o.upstreamCaFiles.assign(raw_->upstreamCa.begin(), raw_->upstreamCa.end());
  o.logLevel = raw_->logLevel;
  o.accessLogPath = raw_->accessLog;
  o.accessLogFormat = raw_->accessLogFormat;
  o.limits.maxRequestLine = parseSize(raw_->maxRequestLine);
  o.limits.maxHeaderBytes = parseSize(raw_->maxHeaderBytes);
  o.limits.maxHeaderCount = raw_->maxHeaders;
  o.idleTimeout = parseDuration(raw_->idleTimeout);
  o.handshakeTimeout = parseDuration(raw_->handshakeTimeout);
  o.headerTimeout = parseDuration(raw_->headerTimeout);
  o.connectTimeout = parseDuration(raw_->connectTimeout);
  o.upstreamTimeout = parseDuration(raw_->upstreamTimeout);
  o.leafCacheSize = raw_->leafCacheSize;
  o.cacheEnabled = !raw_->noCache;
  o.cacheMaxSize = raw_->cacheMaxSize == "auto" ? 0 : parseSize(raw_->cacheMaxSize);
  o.tagTtl = parseDuration(raw_->tagTtl);
  o.upstreamAuthFile = raw_->upstreamAuth;
  o.runAsUser = raw_->user;
  o.offlineAuth = raw_->offlineAuth == "trust-cached" ? proxy::OfflineAuth::kTrustCached
                                                      : proxy::OfflineAuth::kDeny;
  o.leafValidity =
      std::chrono::duration_cast<std::chrono::hours>(parseDuration(raw_->leafValidity));
  if (o.leafValidity.count() < 1)
    throw std::invalid_argument("--leaf-validity must be at least 1h");
  o.caRotateEvery = parseDuration(raw_->caRotateEvery);
  o.caOverlap = parseDuration(raw_->caOverlap);
  o.tunnelIdleTimeout = parseDuration(raw_->tunnelIdleTimeout);
  o.maxConnectionsPerClient = raw_->maxConnectionsPerClient;
  o.mintsPerClientPerMinute = raw_->mintsPerClientPerMinute;
  o.fillStallTimeout = parseDuration(raw_->fillStallTimeout);
  if (o.fillStallTimeout.count() <= 0) {
    throw std::invalid_argument("--fill-stall-timeout must be positive");
  }
  o.maxBlobSize = parseSize(raw_->maxBlobSize);
  o.maxIdleConnections = raw_->maxIdleConnections;
  for (const auto &registry : raw_->mirrorRegistries) {
    std::string_view name = registry;
    if (name.rfind("*.", 0) == 0) name.remove_prefix(2);
    if (!proxy::parseMirrorRegistry(name).ok()) {
      throw std::invalid_argument("bad --mirror-registries entry '" + registry + "'");
    }
  }
  o.mirrorRegistries = raw_->mirrorRegistries;
  for (const auto &address : raw_->mirrorTlsListen)
    o.mirrorTlsListen.push_back(parseListenAddress(address));
  o.storeIoThreads = raw_->storeIoThreads;
  o.drainTimeout = parseDuration(raw_->drainTimeout);
  o.dnsMaxTtl = parseDuration(raw_->dnsMaxTtl);
  o.dnsNegativeTtl = parseDuration(raw_->dnsNegativeTtl);
  o.evictionInterval = parseDuration(raw_->evictionInterval);
  if (o.evictionInterval.count() <= 0) {
    throw std::invalid_argument("--eviction-interval must be positive");
  }
  if (!raw_->upstreamProxy.empty()) {
    auto parent = proxy::net::parseParentProxyUrl(raw_->upstreamProxy);
    if (!parent.ok()) throw std::invalid_argument(parent.failure().detail);
  }
  o.upstreamProxy = raw_->upstreamProxy;
  if (auto exceptions = proxy::net::NoProxyList::parse(raw_->upstreamNoProxy); !exceptions.ok())
    throw std::invalid_argument(exceptions.failure().detail);
  o.upstreamNoProxy = raw_->upstreamNoProxy;
  o.s3Store = resolveS3Options(raw_->serveStore, o.upstreamCaFiles, o.dataDir / "s3-spool");
  for (const auto &registry : raw_->storeRegistries) {
    std::string_view name = registry;
    if (name == "*") continue;
    if (name.rfind("*.", 0) == 0) name.remove_prefix(2);
    if (!proxy::parseMirrorRegistry(name).ok()) {
      throw std::invalid_argument("bad --store-registries entry '" + registry + "'");
    }
  }
  o.storeRegistries = raw_->storeRegistries;
  o.storeTimeout = parseDuration(raw_->storeTimeout);
  if (o.storeTimeout.count() <= 0) throw std::invalid_argument("--store-timeout must be positive");
  if (o.listen.empty()) throw std::invalid_argument("at least one --listen address is needed");
  return out;
}

} // namespace regcache::app
