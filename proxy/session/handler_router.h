#pragma once
// The one place that picks which handler answers a request: the admin endpoints, the mirror's
// own answers, --read-only's refusal, a cache hit, a reader of a fill in flight, or a forward to
// upstream (which may start a fill). The session hands it the routed request and gets back a
// RequestHandler; it never learns the handlers' types.
#include <memory>
#include <optional>

#include "proxy/http/message.h"
#include "proxy/request_handler.h"
#include "proxy/session/route.h"

namespace regcache::proxy {

// A request kept by the session so it can still be forwarded on its own (ClientSide::
// forwardInstead): set when the pick was a reader of another client's fill.
struct ForwardFallback {
  std::optional<http::RequestHead> head;
  std::optional<Route> route;
  bool ready() const { return head.has_value() && route.has_value(); }
  void reset() {
    head.reset();
    route.reset();
  }
};

// The handler for one request on `client` (routed: not CONNECT nor a bad request). `admin`: the
// client may read the admin endpoints. May set `fallback`. Never null; not started.
std::unique_ptr<RequestHandler> pickHandler(ClientSide &client, http::RequestHead &&head,
                                            Route &&route, bool admin, ForwardFallback &fallback);

// The same for a forwarded request the registry cache may answer (what pickHandler does past the
// admin, mirror and --read-only answers). `askBucket` false: as if the fleet's bucket had nothing.
std::unique_ptr<RequestHandler> pickCacheHandler(ClientSide &client, http::RequestHead &&head,
                                                 Route &&route, ForwardFallback &fallback,
                                                 bool askBucket);

// A plain forward of the request in `fallback` (which is emptied); null if there is none.
std::unique_ptr<RequestHandler> forwardAlone(ClientSide &client, ForwardFallback &fallback);

} // namespace regcache::proxy
