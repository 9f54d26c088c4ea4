#pragma once
// Finds out whether anyone may read a repository. Token registries give every client a bearer
// token, anonymous pulls included, so the cache cannot tell public content from private by the
// client's Authorization alone. After content is fetched with credentials, the proxy asks
// upstream itself: a HEAD of that content without Authorization and, when upstream answers with a
// Bearer challenge, again with an anonymous token from the challenge's realm. Only a 200 naming
// this digest, if it names one, means public: everything cached under the repository may then be
// served to anyone, also while upstream is down. A redirect of a blob is followed, and counts only
// if the storage it leads to answers 200 with the blob's length (an SSO gateway's redirect to its
// login page does not). Anything else leaves it private. The probe always starts at the registry,
// never at storage a fetch was sent on to.
// Docker Hub counts neither HEADs nor token requests against the pull limit.
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cache/index.h"
#include "proxy/forward/one_shot_request.h"
#include "proxy/forward/upstream_auth/token_fetcher.h"
#include "proxy/net/connector.h"

namespace regcache::proxy {

class HandlerServices;

class PublicProbe {
public:
  // `endpoint` is the registry's; `registry` its key in the index ("host[:port]").
  PublicProbe(HandlerServices &services, net::Endpoint endpoint, std::string registry,
              std::string repository, cache::BlobRecord blob);
  ~PublicProbe();
  PublicProbe(const PublicProbe &) = delete;
  PublicProbe &operator=(const PublicProbe &) = delete;

  void start();

private:
  // Asks the registry with `authorization` (empty: none).
  void ask(const std::string &authorization);
  // One HEAD, at the registry or where it redirected the last one.
  void head(http::AbsoluteUrl url);
  void onHead(Result<OneShotResponse> answer);
  void followRedirect(const OneShotResponse &answer);
  void onToken(Result<upstream_auth::TokenResponse> token);
  void finish(std::optional<bool> isPublic, const std::string &why);

  HandlerServices &services_;
  net::Endpoint endpoint_;
  std::string registry_;
  std::string repository_;
  cache::BlobRecord blob_;
  std::unique_ptr<OneShotRequest> request_;
  std::unique_ptr<upstream_auth::TokenFetcher> tokenFetcher_;
  std::string authorization_; // for the registry alone, never for storage
  http::AbsoluteUrl asked_;   // where the HEAD in flight went
  int redirects_ = 0;
  bool withToken_ = false;
  bool finished_ = false;
};

// Content just fetched from upstream with a client's credentials, and recorded as such: marks it
// public at once if the repository is known to be, or starts a probe if nobody knows.
void noteCredentialedFetch(HandlerServices &services, const net::Endpoint &endpoint,
                           const std::string &registry, const std::string &repository,
                           const cache::BlobRecord &blob);

} // namespace regcache::proxy
