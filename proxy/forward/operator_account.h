#pragma once
// --upstream-auth for one request: whether it goes with the operator's account for its registry
// (or, for the mirror without one, an anonymous stand-in), the Authorization it then carries,
// and what a retry after upstream's 401 needs: the account itself for Basic, a token from the
// challenge's realm for Bearer. The account is for the registry alone, over verified TLS: never
// toward a redirect's target, never in the clear.
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "proxy/forward/upstream_auth/credentials.h"
#include "proxy/forward/upstream_auth/token_fetcher.h"
#include "proxy/http/auth_challenge.h"
#include "proxy/net/connector.h"

namespace regcache::proxy {

class HandlerServices;

class OperatorAccount {
public:
  // The operator's account for a request to `host` (lowercase) and `endpoint`, if it has one
  // for host:port (or host alone on 443), the request goes over TLS and the client sent no
  // Authorization of its own (which always wins).
  static OperatorAccount choose(HandlerServices &services, const net::Endpoint &endpoint,
                                const std::string &host, const std::string &originTarget,
                                bool clientAuthorization);
  // The mirror's access (docs/mirror.md): without an operator account, an anonymous one that
  // carries no secret and answers Bearer challenges only. Over TLS only.
  void orAnonymous(const net::Endpoint &endpoint, const std::string &host,
                   const std::string &originTarget);

  bool anonymous() const { return anonymous_; }
  // Whether a request to `host:port` (`hostPort`, lowercase) over `tls` goes with the account.
  bool appliesTo(bool tls, const std::string &hostPort) const;
  // The Authorization the token cache holds for this account and request, if any.
  std::optional<std::string> authorization(HandlerServices &services) const;
  // Whether `challenge` may be answered with the account: Basic with a real account, Bearer when
  // its realm is https (or http where the account allows it, or for an anonymous token). Logs a
  // refusal.
  bool mayAnswer(const http::AuthChallenge &challenge, const std::string &logPrefix) const;
  // Obtains what a retry after `challenge` needs and puts it in the token cache, then calls
  // `done` on this loop: ok to retry, or why not (a 502's reason). At most one at a time.
  void prepareRetry(HandlerServices &services, const http::AuthChallenge &challenge,
                    const std::string &logPrefix, std::function<void(Result<void>)> done);
  // Drops a token request in flight; its `done` never runs.
  void cancel(HandlerServices &services);

private:
  // Where the TokenCache keeps what the account obtained: anonymous tokens apart.
  std::string tokenKey() const;

  const upstream_auth::Credential *account_ = nullptr;
  // Keeps the accounts account_ points into alive across a SIGHUP reload.
  std::shared_ptr<const upstream_auth::Credentials> accounts_;
  std::string host_; // host:port of the registry the account is for; never sent elsewhere
  std::string scope_;
  bool anonymous_ = false;
  std::unique_ptr<upstream_auth::TokenFetcher> tokenFetcher_;
};

} // namespace regcache::proxy
