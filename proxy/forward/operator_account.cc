#include "proxy/forward/operator_account.h"

#include "base/log.h"
#include "proxy/forward/upstream_auth/credentials.h"
#include "proxy/forward/upstream_auth/token_cache.h"
#include "proxy/handler_services.h"
#include "proxy/http/target.h"

namespace regcache::proxy {
namespace {

// The mirror's account where the operator has none: anonymous, so it carries no secret.
const upstream_auth::Credential kAnonymousAccount{};

} // namespace

OperatorAccount OperatorAccount::choose(HandlerServices &services, const net::Endpoint &endpoint,
                                        const std::string &host, const std::string &originTarget,
                                        bool clientAuthorization) {
  OperatorAccount chosen;
  chosen.accounts_ = services.upstreamCredentials();
  if (const auto *accounts = chosen.accounts_.get();
      accounts != nullptr && endpoint.tls && !clientAuthorization) {
    // A client's own Authorization always wins; without one, the operator's account is used, but
    // only over verified TLS: never to http://registry:80, which anyone on the path can read.
    std::string withPort = host + ":" + std::to_string(endpoint.port);
    chosen.account_ = accounts->find(withPort);
    if (chosen.account_ == nullptr && endpoint.port == 443) chosen.account_ = accounts->find(host);
    chosen.host_ = withPort;
    chosen.scope_ = upstream_auth::scopeForPath(originTarget);
  }
  return chosen;
}

void OperatorAccount::orAnonymous(const net::Endpoint &endpoint, const std::string &host,
                                  const std::string &originTarget) {
  if (account_ != nullptr || !endpoint.tls) return;
  account_ = &kAnonymousAccount;
  anonymous_ = true;
  host_ = host + ":" + std::to_string(endpoint.port);
  scope_ = upstream_auth::scopeForPath(originTarget);
}

std::string OperatorAccount::tokenKey() const { return anonymous_ ? "anonymous " + host_ : host_; }

bool OperatorAccount::appliesTo(bool tls, const std::string &hostPort) const {
  // Never toward a redirect target, nor after a redirect to plain HTTP on the same host and port.
  return account_ != nullptr && tls && hostPort == host_;
}

std::optional<std::string> OperatorAccount::authorization(HandlerServices &services) const {
  auto &tokens = services.upstreamTokens();
  auto found = tokens.find(tokenKey(), scope_);
  if (!found) found = tokens.find(tokenKey(), ""); // Basic: any scope
  return found;
}

bool OperatorAccount::mayAnswer(const http::AuthChallenge &challenge,
                                const std::string &logPrefix) const {
  if (account_ == nullptr) return false;
  if (challenge.scheme == "basic") return !anonymous_;
  if (challenge.scheme != "bearer") return false;
  auto realm = challenge.param("realm");
  if (!realm) return false;
  auto url = http::parseAbsoluteUrl(*realm);
  if (url.ok() && url->scheme == "https") return true;
  // An anonymous token request carries no secret: any http(s) realm may have it.
  if (url.ok() && url->scheme == "http" && anonymous_) return true;
  if (url.ok() && url->scheme == "http" && account_->allowHttpRealm) return true;
  // The realm comes from upstream: an http:// one would get the account in the clear. The
  // registry's 401 goes to the client instead.
  log::proxy().warn("{} not sending the operator's account to the token realm {}: not https "
                    "(allow_http_realm = true allows it for this registry)",
                    logPrefix, *realm);
  return false;
}

void OperatorAccount::prepareRetry(HandlerServices &services, const http::AuthChallenge &challenge,
                                   const std::string &logPrefix,
                                   std::function<void(Result<void>)> done) {
  if (challenge.scheme == "basic") {
    log::proxy().debug("{} upstream asks for Basic credentials; using the operator's account",
                       logPrefix);
    services.upstreamTokens().put(host_, "", upstream_auth::basicAuthorization(*account_),
                                  std::chrono::hours(1));
    done(Result<void>());
    return;
  }
  auto url = upstream_auth::TokenFetcher::tokenUrl(challenge, scope_);
  if (!url.ok()) {
    done(url.failure());
    return;
  }
  log::proxy().debug("{} getting an upstream token from {} {}", logPrefix,
                     http::formatAuthority(url->authority),
                     anonymous_ ? "anonymously (mirror)" : "with the operator's account");
  // The realm comes from upstream's answer: it is judged like any other target.
  tokenFetcher_ = std::make_unique<upstream_auth::TokenFetcher>(
      services.base(), services.resolver(), services.upstreamConnectSettings(url->authority.host),
      services.options().connectTimeout, std::move(url.value()),
      anonymous_ ? std::string() : upstream_auth::basicAuthorization(*account_), logPrefix,
      [this, &services, done = std::move(done)](Result<upstream_auth::TokenResponse> token) {
        services.deleteLater(std::move(tokenFetcher_));
        if (!token.ok()) {
          done(Failure{token.failure().code,
                       std::string("cannot get an upstream token ") +
                           (anonymous_ ? "anonymously" : "with the operator's account") + ": " +
                           token.failure().detail});
          return;
        }
        services.upstreamTokens().put(tokenKey(), scope_, "Bearer " + token->token,
                                      token->expiresIn);
        done(Result<void>());
      });
  tokenFetcher_->start();
}

void OperatorAccount::cancel(HandlerServices &services) {
  if (tokenFetcher_) services.deleteLater(std::move(tokenFetcher_));
}

} // namespace regcache::proxy
