#include "proxy/cache/public_probe.h"

#include "base/log.h"
#include "cache/index_writer.h"
#include "proxy/cache/public_repositories.h"
#include "proxy/forward/registry_head.h"
#include "proxy/handler_services.h"
#include "proxy/http/auth_challenge.h"

namespace regcache::proxy {

namespace {

// What registries serve manifests as; a HEAD by digest must accept the stored one.
constexpr const char *kManifestTypes =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";
constexpr int kMaxRedirects = 5; // as for the proxy's own fetches

} // namespace

PublicProbe::PublicProbe(HandlerServices &services, net::Endpoint endpoint, std::string registry,
                         std::string repository, cache::BlobRecord blob)
    : services_(services), endpoint_(std::move(endpoint)), registry_(std::move(registry)),
      repository_(std::move(repository)), blob_(std::move(blob)) {}

PublicProbe::~PublicProbe() = default;

void PublicProbe::start() { ask(""); }

void PublicProbe::ask(const std::string &authorization) {
  authorization_ = authorization;
  redirects_ = 0;
  head(http::AbsoluteUrl{
      endpoint_.tls ? "https" : "http",
      http::HostPort{endpoint_.host, endpoint_.port, endpoint_.host.find(':') != std::string::npos},
      "/v2/" + repository_ + (blob_.manifest ? "/manifests/" : "/blobs/") + blob_.digest});
}

void PublicProbe::head(http::AbsoluteUrl url) {
  http::Headers headers;
  if (blob_.manifest) {
    headers.add("Accept", blob_.mediaType.empty() ? std::string(kManifestTypes)
                                                  : blob_.mediaType + ", " + kManifestTypes);
  }
  headers.add("User-Agent", "regcache (public probe)");
  asked_ = url;
  startRegistryHead(services_, request_, std::move(url), endpoint_, authorization_,
                    std::move(headers),
                    [this](Result<OneShotResponse> answer) { onHead(std::move(answer)); });
}

void PublicProbe::onHead(Result<OneShotResponse> answer) {
  if (!answer.ok()) {
    finish(std::nullopt, answer.failure().detail);
    return;
  }
  int status = answer->head.status;
  bool redirect = status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
  auto announced = answer->head.headers.get("Docker-Content-Digest");
  bool namesAnother = announced && *announced != blob_.digest;
  // Storage names no digest: the length it announces must be the blob's.
  bool rightLength = redirects_ == 0 || answer->head.contentLength == blob_.size;
  if (status == 200 && !namesAnother && rightLength) {
    finish(true, withToken_ ? "readable with an anonymous token" : "readable without credentials");
    return;
  }
  if (redirect && !blob_.manifest) {
    followRedirect(answer.value());
    return;
  }
  if (status != 401 || withToken_ || redirects_ > 0) {
    finish(false,
           "upstream answered " + std::to_string(status) + " without the client's credentials");
    return;
  }
  std::optional<http::AuthChallenge> bearer;
  for (auto &challenge :
       http::parseAuthChallenges(answer->head.headers.get("WWW-Authenticate").value_or(""))) {
    if (challenge.scheme == "bearer" && challenge.param("realm")) bearer = std::move(challenge);
  }
  if (!bearer) {
    finish(false, "upstream wants credentials");
    return;
  }
  auto url = upstream_auth::TokenFetcher::tokenUrl(*bearer, "repository:" + repository_ + ":pull");
  if (!url.ok()) {
    finish(std::nullopt, url.failure().detail);
    return;
  }
  withToken_ = true;
  std::string host = url->authority.host;
  tokenFetcher_ = std::make_unique<upstream_auth::TokenFetcher>(
      services_.base(), services_.resolver(), services_.upstreamConnectSettings(host),
      services_.options().connectTimeout, std::move(url.value()), "",
      "public probe of " + registry_ + "/" + repository_ + ":",
      [this](Result<upstream_auth::TokenResponse> token) { onToken(std::move(token)); });
  tokenFetcher_->start();
}

void PublicProbe::followRedirect(const OneShotResponse &answer) {
  auto location = answer.head.headers.get("Location");
  if (redirects_ >= kMaxRedirects || !location || location->empty()) {
    finish(false, "upstream redirected the blob without a usable end");
    return;
  }
  http::AbsoluteUrl next = asked_;
  if (location->front() == '/') {
    next.pathAndQuery = std::string(*location);
  } else {
    auto url = http::parseAbsoluteUrl(*location);
    if (!url.ok() || (url->scheme != "http" && url->scheme != "https")) {
      finish(false, "upstream redirected the blob to an unusable location");
      return;
    }
    next = std::move(url.value());
  }
  ++redirects_;
  head(std::move(next));
}

void PublicProbe::onToken(Result<upstream_auth::TokenResponse> token) {
  services_.deleteLater(std::move(tokenFetcher_));
  if (!token.ok()) {
    // A realm that gives no anonymous token is how some registries say "private".
    finish(false, token.failure().detail);
    return;
  }
  ask("Bearer " + token->token);
}

void PublicProbe::finish(std::optional<bool> isPublic, const std::string &why) {
  if (finished_) return;
  finished_ = true;
  services_.publicRepositories().endProbe(registry_, repository_, isPublic);
  if (isPublic == true) {
    if (cache::IndexWriter *writer = services_.indexWriter()) {
      writer->markRepositoryPublic(registry_, repository_);
    }
    log::cache().info("{}/{} is public ({}): its cached content is served to anyone", registry_,
                      repository_, why);
  } else {
    log::cache().debug("{}/{} is {} ({})", registry_, repository_,
                       isPublic ? "private" : "of unknown access", why);
  }
  services_.endProbe(this); // frees this later
}

void noteCredentialedFetch(HandlerServices &services, const net::Endpoint &endpoint,
                           const std::string &registry, const std::string &repository,
                           const cache::BlobRecord &blob) {
  auto &repositories = services.publicRepositories();
  if (repositories.known(registry, repository) == true) {
    if (cache::IndexWriter *writer = services.indexWriter()) {
      writer->addSource(blob, cache::BlobSource{registry, repository, true});
    }
    return;
  }
  if (!repositories.beginProbe(registry, repository)) return;
  services.startProbe(
      std::make_unique<PublicProbe>(services, endpoint, registry, repository, blob));
}

} // namespace regcache::proxy
