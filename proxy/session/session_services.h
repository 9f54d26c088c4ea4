#pragma once
// What a client session may use of the worker it runs on: everything a handler may
// (proxy/handler_services.h), and what only the session needs to accept, authenticate and route
// a client: the reloadable client lists, proxy users and target policy, the interception policy
// and TLS context, the drain state, and where to say it is done. The Worker implements it; the
// session never sees the Worker itself. Loop thread only, unless a comment says otherwise.
#include <memory>
#include <vector>

#include <openssl/ssl.h>

#include "proxy/access/policy.h"
#include "proxy/access/proxy_auth_pool.h"
#include "proxy/access/proxy_users.h"
#include "proxy/access/target_policy.h"
#include "proxy/handler_services.h"
#include "proxy/net/cidr.h"

namespace regcache::proxy {

class ClientSession;

class SessionServices : public HandlerServices {
public:
  // --allow-client as it is now (reloadable): who may connect at all.
  virtual std::shared_ptr<const std::vector<net::Cidr>> allowedClients() const = 0;
  // --proxy-auth-file as it is now; null: no proxy credentials asked.
  virtual std::shared_ptr<const ProxyUsers> proxyUsers() const = 0;
  // --admin-allow as it is now: clients that are admins by address.
  virtual std::shared_ptr<const std::vector<net::Cidr>> adminClients() const = 0;
  // Checks proxy passwords off the loop; its answers come back through mailbox().
  virtual ProxyAuthPool &proxyAuthPool() = 0;
  // Which upstream hosts and addresses clients may reach, as it is now (never null).
  virtual std::shared_ptr<const TargetPolicy> targets() const = 0;
  // Which CONNECT targets are intercepted, and the TLS context that terminates them.
  virtual const InterceptPolicy &interceptPolicy() const = 0;
  virtual SSL_CTX *interceptTls() const = 0;
  // A drain has begun: a session closes after its current response.
  virtual bool draining() const = 0;
  // Called by a session that has finished; it is freed on the next loop turn.
  virtual void onSessionClosed(ClientSession *session) = 0;
};

} // namespace regcache::proxy
