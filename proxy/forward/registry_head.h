#pragma once
// One HEAD toward a registry or the storage it redirected to, for the checks that ask upstream
// about content (the public probe, a fill joiner's check). Shared so both apply one rule: the
// credential goes to the registry's own endpoint only, never to storage.
#include <memory>
#include <string>

#include "proxy/forward/one_shot_request.h"
#include "proxy/net/connector.h"

namespace regcache::proxy {

class HandlerServices;

// Whether `url` is the registry's own endpoint (host, port and scheme), not a redirect target.
bool isRegistryEndpoint(const http::AbsoluteUrl &url, const net::Endpoint &registry);

// Replaces `request` (freed later, never inside its own callback) with a started HEAD of `url`.
// `authorization` is added only when `url` is the registry's endpoint; `headers` go as given.
void startRegistryHead(HandlerServices &services, std::unique_ptr<OneShotRequest> &request,
                       http::AbsoluteUrl url, const net::Endpoint &registry,
                       const std::string &authorization, http::Headers headers,
                       OneShotRequest::Callback done);

} // namespace regcache::proxy
