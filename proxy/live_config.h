#pragma once
// The part of the configuration SIGHUP may change while connections run: who may connect
// (--allow-client), who is an admin by address (--admin-allow), what may be reached
// (--allow-target, --deny-target), who must log in
// (--proxy-auth-file) and the operator's upstream accounts (--upstream-auth). Built whole from
// the options (the files read again) and published into the SharedContext in one step, so a
// reload with one bad part changes nothing.
#include <memory>
#include <vector>

#include "base/result.h"
#include "proxy/access/proxy_users.h"
#include "proxy/access/target_policy.h"
#include "proxy/forward/upstream_auth/credentials.h"
#include "proxy/net/cidr.h"
#include "proxy/net/socket_address.h"
#include "proxy/server_options.h"

namespace regcache::proxy {

struct SharedContext;

struct LiveConfig {
  std::shared_ptr<const std::vector<net::Cidr>> allowedClients; // never null
  std::shared_ptr<const std::vector<net::Cidr>> adminClients;   // never null
  std::shared_ptr<const TargetPolicy> targets;                  // never null
  std::shared_ptr<const ProxyUsers> proxyUsers;                 // null: no credentials asked
  std::shared_ptr<const upstream_auth::Credentials> upstreamCredentials; // null: none
};

// Parses the ranges and rules and reads the two files of `options`; `ownAddresses` are the
// bound listen addresses (the proxy never connects to itself). Fails, naming the flag or file,
// on the first bad part. Logs what it loaded at info.
Result<LiveConfig> loadLiveConfig(const ServerOptions &options,
                                  const std::vector<net::SocketAddress> &ownAddresses);

// Makes `config` what every later accept and request sees. Thread-safe; connections keep the
// snapshot they already took. Forgets upstream tokens when the accounts are replaced.
void publish(SharedContext &shared, LiveConfig config);

} // namespace regcache::proxy
