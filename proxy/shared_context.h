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
#include "proxy/access_memo.h"
#include "proxy/metrics.h"
#include "proxy/net/cidr.h"
#include "proxy/policy.h"
#include "proxy/proxy_users.h"
#include "proxy/public_repositories.h"
#include "proxy/reloadable.h"
#include "proxy/server_options.h"
#include "proxy/target_policy.h"
#include "proxy/upstream_auth/credentials.h"
#include "proxy/upstream_auth/token_cache.h"

namespace regcache::ca {
class LeafCache;
}
namespace regcache::cache {
class FileBlobStore;
class FillRegistry;
} // namespace regcache::cache

namespace regcache::proxy {

struct SharedContext {
  const ServerOptions &options;
  ca::LeafCache &leaves;
  SSL_CTX *interceptTls;
  SSL_CTX *upstreamTls;
  InterceptPolicy policy;
  // The registry cache; null when it is off or could not be set up (pass-through).
  cache::FileBlobStore *blobs = nullptr;
  cache::FillRegistry *fills = nullptr;
  std::filesystem::path indexPath;
  std::atomic<std::uint64_t> nextConnectionId{1};
  Metrics metrics{};
  // --allow-client, checked at accept. Reloadable: a swap narrows who may connect from then on.
  Reloadable<std::vector<net::Cidr>> allowedClients{};
  Reloadable<ProxyUsers> proxyUsers{}; // null: no proxy credentials asked
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
};

} // namespace regcache::proxy
