#include "proxy/session/handler_router.h"

#include "base/log.h"
#include "base/oci/digest.h"
#include "proxy/cache/bucket_lookup.h"
#include "proxy/cache/cache_decision.h"
#include "proxy/cache/cache_follower.h"
#include "proxy/cache/cache_handler.h"
#include "proxy/cache/cache_tap.h"
#include "proxy/forward/exchange.h"
#include "proxy/handler_services.h"
#include "proxy/observe/admin.h"
#include "proxy/session/fixed_response.h"
#include "proxy/session/mirror_route.h"

namespace regcache::proxy {
namespace {

// A kMirror request: the ping or a refusal answered by the proxy itself, or null when `route`
// became a forward to the registry ns names, with the client's Authorization removed.
std::unique_ptr<RequestHandler> answerMirror(ClientSide &client, http::RequestHead &head,
                                             Route &route) {
  MirrorRoute mirror = routeMirror(head, client.services().options().mirrorRegistries);
  std::string host =
      mirror.upstream.host.empty() ? "mirror" : http::formatAuthority(mirror.upstream, 443);
  http::Headers headers;
  headers.add("Content-Type", "application/json; charset=utf-8");
  headers.add("Docker-Distribution-API-Version", "registry/2.0");
  if (!route.error.empty()) {
    // --proxy-auth-file, and no proxy user proven: the registry way to ask for credentials.
    headers.add("WWW-Authenticate", "Basic realm=\"regcache\"");
    return std::make_unique<FixedResponse>(client, head, host, 401, std::move(headers),
                                           ociErrorJson("UNAUTHORIZED", "regcache: " + route.error),
                                           "mirror refused: " + route.error);
  }
  if (mirror.kind == MirrorRoute::Kind::kPing) {
    // Answered here, without auth: the mirror fetches upstream tokens itself, so its clients
    // never need one (dockerd and containerd then send no credentials).
    return std::make_unique<FixedResponse>(client, head, host, 200, std::move(headers), "{}",
                                           "mirror ping", true);
  }
  if (mirror.kind == MirrorRoute::Kind::kRefuse) {
    log::proxy().info("{} mirror {} {} from {}: {}", client.logPrefix(), head.method, head.target,
                      client.peer().toString(), mirror.message);
    return std::make_unique<FixedResponse>(client, head, host, mirror.status, std::move(headers),
                                           ociErrorJson(mirror.code, mirror.message),
                                           "mirror refused: " + mirror.message);
  }
  // The mirror's upstream access is its own (anonymous, or the operator's account), never the
  // client's: a client that sends Authorization to the mirror sent it to regcache, not to the
  // registry ns names. So the mirror serves only what anonymous or operator access may see, and
  // the isolation rules keep everything else away from it.
  head.headers.remove("Authorization");
  route.kind = RouteKind::kForward;
  route.tls = true;
  route.upstream = std::move(mirror.upstream);
  route.originTarget = std::move(mirror.originTarget);
  route.mirror = true;
  log::proxy().debug("{} mirror {} {} -> {}", client.logPrefix(), head.method, head.target, host);
  return nullptr;
}

std::unique_ptr<RequestHandler> forwardTo(ClientSide &client, http::RequestHead &&head,
                                          Route &&route) {
  net::Endpoint endpoint{route.upstream.host, route.upstream.port, route.tls};
  auto exchange = std::make_unique<Exchange>(client, std::move(head), std::move(endpoint),
                                             std::move(route.originTarget));
  if (route.mirror) exchange->servesMirror();
  return exchange;
}

} // namespace

std::unique_ptr<RequestHandler> pickHandler(ClientSide &client, http::RequestHead &&head,
                                            Route &&route, bool admin, ForwardFallback &fallback) {
  if (route.kind == RouteKind::kAdmin) {
    return std::make_unique<AdminEndpoint>(client, std::move(head), admin);
  }
  if (route.kind == RouteKind::kMirror) {
    if (auto answered = answerMirror(client, head, route)) return answered;
  }
  HandlerServices &services = client.services();
  if (services.options().readOnly && isRegistryWrite(head, route)) {
    http::Headers headers;
    headers.add("Content-Type", "application/json; charset=utf-8");
    headers.add("Docker-Distribution-API-Version", "registry/2.0");
    return std::make_unique<FixedResponse>(
        client, head, http::formatAuthority(route.upstream, route.tls ? 443 : 80), 405,
        std::move(headers), ociErrorJson("UNSUPPORTED", "regcache is read-only"),
        "refused: --read-only");
  }
  return pickCacheHandler(client, std::move(head), std::move(route), fallback, true);
}

std::unique_ptr<RequestHandler> pickCacheHandler(ClientSide &client, http::RequestHead &&head,
                                                 Route &&route, ForwardFallback &fallback,
                                                 bool askBucket) {
  HandlerServices &services = client.services();
  // The registry cache: a hit is answered from disk; a miss by digest fills it on the way.
  CacheDecision cached;
  if (route.kind == RouteKind::kForward) {
    cached =
        decideCache(services, head, ForwardTarget{route.upstream, route.tls, route.originTarget},
                    client.logPrefix(), askBucket);
  }
  if (cached.bucket) {
    // The fleet's bucket first. If it has nothing, this very request is picked again without it
    // (the lookup replaces itself, on the loop, never inside its start()); `fallback` is the
    // session's, which outlives its handlers.
    http::RequestHead copy = head;
    net::Endpoint endpoint{route.upstream.host, route.upstream.port, route.tls};
    bool mirror = route.mirror;
    std::string target = route.originTarget;
    auto again = [&client, &fallback, head = std::move(head), route = std::move(route)]() mutable {
      client.replaceHandler(
          pickCacheHandler(client, std::move(head), std::move(route), fallback, false));
    };
    return std::make_unique<BucketLookup>(client, std::move(copy), std::move(endpoint),
                                          std::move(target), mirror, std::move(*cached.bucket),
                                          std::move(again));
  }
  if (cached.hit) {
    return std::make_unique<CacheHandler>(client, std::move(head), std::move(*cached.hit),
                                          std::move(cached.reader), cached.registry, cached.xCache,
                                          "cache " + cached.xCache);
  }
  if (cached.follow) {
    auto digest = oci::parseDigest(route.originTarget.substr(route.originTarget.rfind('/') + 1));
    std::unique_ptr<RequestHandler> follower;
    if (cached.confirmJoin) {
      // Upstream must accept this client before it reads a byte of another client's fill.
      follower = std::make_unique<CacheFollower>(
          client, head, *digest, std::move(cached.follow), cached.registry,
          std::move(*cached.confirmJoin),
          net::Endpoint{route.upstream.host, route.upstream.port, route.tls}, route.originTarget,
          cached.registry);
    } else {
      follower = std::make_unique<CacheFollower>(client, head, *digest, std::move(cached.follow),
                                                 cached.registry);
    }
    fallback.head = std::move(head);
    fallback.route = std::move(route);
    return follower;
  }
  net::Endpoint endpoint{route.upstream.host, route.upstream.port, route.tls};
  return forwardForCache(client, std::move(head), std::move(endpoint),
                         std::move(route.originTarget), std::move(cached.fill),
                         std::move(cached.candidate), std::move(cached.tagToLearn), route.mirror);
}

std::unique_ptr<RequestHandler> forwardAlone(ClientSide &client, ForwardFallback &fallback) {
  if (!fallback.ready()) return nullptr;
  auto next = forwardTo(client, std::move(*fallback.head), std::move(*fallback.route));
  fallback.reset();
  return next;
}

} // namespace regcache::proxy
