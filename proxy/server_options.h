#pragma once
// Everything `regcache serve` can be told. Filled by app/ from the command line and the TOML
// config file; read by proxy::Server. Plain data, no behaviour.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cache/s3/s3_store_options.h"
#include "proxy/build_identity.h"
#include "proxy/http/limits.h"

namespace regcache::cache {
class BlobStore;
}

namespace regcache::proxy {

struct ListenAddress {
  std::string host; // an IPv4 or IPv6 literal, without brackets
  uint16_t port = 0;
};

// Content only ever fetched with credentials, asked for while upstream cannot confirm the
// client's access: refuse (the default), or serve it to any client that sent credentials.
enum class OfflineAuth { kDeny, kTrustCached };

struct ServerOptions {
  std::vector<ListenAddress> listen{{"127.0.0.1", 3128}};
  std::filesystem::path dataDir;
  // Started as root to bind: become this user once listening (the data dir is handed over).
  std::string runAsUser;
  unsigned workers = 0; // 0: one per core

  // Who may use the proxy: client addresses in these ranges; anyone else gets a 403.
  std::vector<std::string> allowClients{
      "127.0.0.0/8",    "::1",           "10.0.0.0/8", "172.16.0.0/12",
      "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"};
  // What it may reach (see proxy/target_policy.h): CIDR, IP, HOST or *.DOMAIN, with :PORT.
  std::vector<std::string> allowTargets;
  std::vector<std::string> denyTargets;
  // Refuse pushes and deletes under /v2/ with 405 UNSUPPORTED.
  bool readOnly = false;
  // Users who may use the proxy (see proxy/proxy_users.h); empty: no proxy credentials needed.
  std::filesystem::path proxyAuthFile;
  // Who may read the admin endpoints other than /ca.crt and /healthz (/metrics, /v2/_catalog):
  // clients in these ranges, and proxy users marked admin in proxyAuthFile. Others get 403.
  std::vector<std::string> adminAllow{"127.0.0.0/8", "::1"};
  // Answer /v2/_catalog to every allowed client, listing only repositories with public content
  // (admins still see every repository). Off: the catalog is for admins alone.
  bool publicCatalog = false;
  // Distinct label values per metrics family (registries, users) before the rest fold into
  // "other": the names come from clients and upstreams, so /metrics stays bounded. Not a flag.
  std::size_t metricsMaxLabelValues = 100;

  // Host patterns: "registry.example.com", "*.example.com" (any subdomain), or "*" (every host).
  // A host matching a tunnel pattern is tunnelled; otherwise one matching an intercept pattern
  // is intercepted; otherwise it is tunnelled. The default intercepts everything.
  std::vector<std::string> interceptPatterns{"*"};
  std::vector<std::string> tunnelPatterns;

  // DNS servers as "IP" or "IP:PORT" ("[v6]:port" for IPv6 with a port). Empty: the system's.
  std::vector<std::string> dnsServers;
  // Extra PEM roots trusted for upstream TLS, on top of the system store.
  std::vector<std::filesystem::path> upstreamCaFiles;

  std::string logLevel = "info";
  std::string accessLogPath; // empty: stderr; "-": stdout
  // "text" (key=value after a timestamp) or "json" (one object per line, for Loki, jq, ...).
  std::string accessLogFormat = "text";

  http::Limits limits;
  std::chrono::milliseconds idleTimeout{std::chrono::seconds(60)};
  std::chrono::milliseconds handshakeTimeout{std::chrono::seconds(10)};
  std::chrono::milliseconds headerTimeout{std::chrono::seconds(30)};
  std::chrono::milliseconds connectTimeout{std::chrono::seconds(10)};
  // How long an upstream may take to start its response, and to go silent mid-body.
  std::chrono::milliseconds upstreamTimeout{std::chrono::seconds(300)};
  // A CONNECT tunnel with no byte moving either way for this long is closed (0: never). Long
  // enough for a registry keep-alive connection between pulls (Go closes its own after 90 s).
  std::chrono::milliseconds tunnelIdleTimeout{std::chrono::seconds(300)};
  // Open client connections per client IP address, across all workers (0: unlimited). Past it a
  // plain HTTP request gets a 503 and a CONNECT is closed.
  std::size_t maxConnectionsPerClient = 256;
  // Idle client connections (between two requests) across all workers (0: no bound). Past it
  // the longest-idle ones are closed (close_notify, then FIN): an intercepted one holds about
  // 17 KiB, so the default keeps idle state near 70 MiB.
  std::size_t maxIdleConnections = 4096;

  // The registry cache in <dataDir>: blobs/, tmp/ and cache.db. Off: pass-through only.
  bool cacheEnabled = true;
  // Past this many bytes, least recently used blobs are evicted. 0: half of the filesystem.
  std::uint64_t cacheMaxSize = 0;
  // How often the evictor checks the size (and the stats flusher writes the hit counters).
  std::chrono::milliseconds evictionInterval{std::chrono::seconds(10)};
  // A manifest fetched by tag is served from the cache for this long without asking upstream;
  // after that a HEAD asks upstream whether it changed (X-Cache: REVALIDATED when not), and the
  // cached copy is served stale if upstream fails.
  std::chrono::milliseconds tagTtl{std::chrono::minutes(5)};
  OfflineAuth offlineAuth = OfflineAuth::kDeny;
  // The operator's upstream accounts (TOML, mode 0600), used for clients that send no
  // Authorization. Empty: none.
  std::filesystem::path upstreamAuthFile;
  // A fill that gets no byte from upstream for this long is abandoned: its readers are cut off
  // (or, not yet answered, fetch on their own) and nothing is stored.
  std::chrono::milliseconds fillStallTimeout{std::chrono::seconds(60)};
  // A blob announced larger than this is passed through and not stored.
  std::uint64_t maxBlobSize = std::uint64_t{64} << 30;
  // Threads that do the blob store's writes, fsyncs, renames, hashing and uncached reads, so
  // that no event loop waits on the disk.
  unsigned storeIoThreads = 2;
  // Hits read from the page cache on the loop (preadv2 RWF_NOWAIT) before asking the I/O
  // threads. Not a flag: false is for tests of the pool path and for benchmarks.
  bool storeReadsOnLoop = true;

  std::size_t leafCacheSize = 1024;
  std::chrono::hours leafValidity{24 * 7};
  // Automatic CA rotation: every caRotateEvery (0: never) a new root is published, and it starts
  // signing caOverlap later. A running server also follows rotations made by `regcache ca rotate`.
  std::chrono::milliseconds caRotateEvery{0};
  std::chrono::milliseconds caOverlap{std::chrono::hours(24 * 7)};
  std::chrono::milliseconds caCheckInterval{std::chrono::seconds(2)};
  // New leaves minted per client IP address per minute (a token bucket with this burst), so a
  // flood of made-up SNI names cannot push every legitimate leaf out of the cache. Cached leaves
  // are always served. 0: unlimited.
  std::size_t mintsPerClientPerMinute = 30;
  std::size_t upstreamPoolPerHost = 8; // idle keep-alive connections kept per upstream
  std::chrono::milliseconds upstreamIdle{std::chrono::seconds(30)};
  std::size_t relayHighWatermark = 1 << 20; // bytes queued for a slow peer before reads pause

  // The mirror endpoint (docs/mirror.md): origin-form /v2/ pulls on the proxy's own listeners.
  // Registries it may reach, as "docker.io", "host[:port]" or "*.domain[:port]"; empty: every
  // registry the target policy allows.
  std::vector<std::string> mirrorRegistries;
  // The same endpoint over TLS, for clients that refuse plain-HTTP mirrors: each connection gets
  // a leaf from regcache's CA for the name it asks for (SNI), else for the address it reached.
  std::vector<ListenAddress> mirrorTlsListen;
  // Not a flag: what app/ was built from (regcache_build_info, the status page).
  BuildIdentity build{};
  // SIGTERM stops accepting, then waits this long for in-flight responses and fills to finish
  // before exiting (0: exit at once).
  std::chrono::milliseconds drainTimeout{std::chrono::seconds(30)};
  // Each worker keeps upstream DNS answers for their TTL, at most dnsMaxTtl (0: no cache), and
  // remembers a name that does not resolve for dnsNegativeTtl (0: not at all).
  std::chrono::milliseconds dnsMaxTtl{std::chrono::seconds(300)};
  std::chrono::milliseconds dnsNegativeTtl{std::chrono::seconds(10)};
  // Chaining (issue #12 item 5, docs/chaining.md): every upstream connection goes through this
  // parent proxy, "http://[USER:PASSWORD@]HOST:PORT", with CONNECT; empty: none. Hosts matching
  // upstreamNoProxy (NO_PROXY-style, see proxy/net/no_proxy.h) are connected to directly.
  std::string upstreamProxy;
  std::vector<std::string> upstreamNoProxy;

  // The fleet's shared store (docs/fleet.md): --store s3://BUCKET[/PREFIX] and the --s3-* flags
  // (app/s3_options.h). Unset: the cache is this host's disk alone.
  std::optional<cache::s3::S3StoreOptions> s3Store;
  // Registries whose blobs may be served from the bucket on a local miss (after upstream's own
  // yes to a HEAD with the client's headers), named as for --mirror-registries, or "*" for every
  // registry. Empty: none (the bucket still gets every fill). Only registries that answer that
  // HEAD honestly belong here: a server a client runs itself would say yes to any digest.
  std::vector<std::string> storeRegistries;
  // A bucket stat slower than this is a miss, and the request goes upstream.
  std::chrono::milliseconds storeTimeout{std::chrono::seconds(2)};
  // Not a flag: the shared store itself, for tests that give several servers one.
  std::shared_ptr<cache::BlobStore> sharedStoreForTests;
  // Not a flag: wraps this host's store once the server has built it (e.g. in a store that fails
  // appends or commits on demand), so tests can make the local disk fail mid-fill. Unset: none.
  std::function<std::shared_ptr<cache::BlobStore>(std::shared_ptr<cache::BlobStore>)>
      localStoreWrapperForTests;
};

} // namespace regcache::proxy
