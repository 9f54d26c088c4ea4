#pragma once
// What every worker thread shares: configuration, the leaf cache and the TLS contexts. All of it
// is either immutable after start-up or thread-safe; what SIGHUP may change is Reloadable (or
// atomic), read once per decision.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "base/clock.h"
#include "base/openssl_handles.h"
#include "proxy/access/access_memo.h"
#include "proxy/access/policy.h"
#include "proxy/access/proxy_users.h"
#include "proxy/access/target_policy.h"
#include "proxy/cache/public_repositories.h"
#include "proxy/forward/upstream_auth/credentials.h"
#include "proxy/forward/upstream_auth/token_cache.h"
#include "proxy/net/cidr.h"
#include "proxy/net/dns_server_order.h"
#include "proxy/net/parent_proxy.h"
#include "proxy/observe/metrics.h"
#include "proxy/observe/status_history.h"
#include "proxy/reloadable.h"
#include "proxy/server_options.h"
#include "proxy/session/client_connections.h"
#include "proxy/session/idle_connections.h"

namespace regcache::ca {
class LeafCache;
}
namespace regcache::cache {
class BlobStore;
class TieredBlobStore;
namespace s3 {
struct S3Stats;
}
class Evictor;
class FillBudget;
class FillRegistry;
class IndexView;
class IndexWriter;
} // namespace regcache::cache
namespace regcache::proxy {
class ProxyAuthPool;
}

namespace regcache::proxy {

struct SharedContext {
  const ServerOptions &options;
  ca::LeafCache &leaves;
  SSL_CTX *interceptTls;
  SSL_CTX *upstreamTls;
  InterceptPolicy policy;
  // The registry cache; null when it is off or could not be set up (pass-through).
  cache::BlobStore *blobs = nullptr;
  cache::FillRegistry *fills = nullptr;
  std::filesystem::path indexPath;
  // The index the loops read (memory) and the one thread that writes it to SQLite; both set
  // whenever `blobs` is. Loops never open SQLite themselves.
  const cache::IndexView *indexView = nullptr;
  cache::IndexWriter *indexWriter = nullptr;
  std::atomic<std::uint64_t> nextConnectionId{1};
  Metrics metrics{};
  // --allow-client, checked at accept. Reloadable: a swap narrows who may connect from then on.
  Reloadable<std::vector<net::Cidr>> allowedClients{};
  // --proxy-auth-file, reloadable; null: no proxy credentials asked. A request takes one
  // snapshot and checks, and decides admin, against that one.
  Reloadable<ProxyUsers> proxyUsers{};
  // Checks proxy passwords off the loops (against the snapshot each check brings). Never null
  // while the workers run, so a reload may turn proxy users on.
  ProxyAuthPool *proxyAuthPool = nullptr;
  // --admin-allow: clients that are admins by address (/metrics, /v2/_catalog). Reloadable.
  Reloadable<std::vector<net::Cidr>> adminClients{};
  // Set before the workers start (it needs the bound addresses); never null while they run.
  Reloadable<TargetPolicy> targets{};
  // --tag-ttl, reloadable.
  std::atomic<std::chrono::milliseconds> tagTtl{std::chrono::minutes(5)};
  // Upstream's yes to a credential for a repository, kept for a minute at most, and never past a
  // bearer token's own expiry.
  AccessMemo accessMemo{SystemClock::instance(), std::chrono::seconds(60)};
  // Repositories upstream lets anyone read (PublicProbe), re-asked after 10 minutes.
  PublicRepositories publicRepositories{SystemClock::instance(), std::chrono::minutes(10)};
  // --upstream-auth: the operator's accounts (null without the flag) and the tokens they got.
  Reloadable<upstream_auth::Credentials> upstreamCredentials{};
  upstream_auth::TokenCache upstreamTokens{SystemClock::instance()};
  // Bytes announced by fills in flight, against --cache-max-size; null when the cache is off.
  cache::FillBudget *fillBudget = nullptr;
  // Open connections per client address, across the workers (--max-connections-per-client).
  ClientConnections clientConnections{options.maxConnectionsPerClient};
  // Idle client connections across the workers (--max-idle-connections); each worker's list
  // joins it as the worker is built.
  IdleBound idleConnections{options.maxIdleConnections};
  // The status page's last hour, sampled every few seconds (one sample kept per minute).
  StatusHistory history{};
  // Eviction counts and the limit for the status page; null when the cache is off.
  const cache::Evictor *evictor = nullptr;
  // Which --dns-server to ask first, learned by every worker's resolver (a dead server is moved
  // behind the others once for the whole process, not once per worker).
  net::DnsServerOrder dnsServers{options.dnsServers};
  // --upstream-proxy with its --upstream-no-proxy exceptions; null: every upstream is direct.
  // Set before the workers start, then never changed (not reloadable).
  std::shared_ptr<const net::ParentProxy> upstreamProxy{};
  // `blobs` when it is the fleet's (this host's disk in front of a shared bucket,
  // docs/fleet.md); null without --store.
  cache::TieredBlobStore *tiered = nullptr;
  // The S3 bucket's request counters (/metrics); null without an S3 --store.
  const cache::s3::S3Stats *bucketStats = nullptr;
};

} // namespace regcache::proxy
