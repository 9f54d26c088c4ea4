#pragma once
// How a layer above the forwarder taps one Exchange (proxy/forward/exchange.h) without the
// forwarder learning what it is. The registry cache (proxy/cache/cache_tap.h) uses it to
// revalidate a cached copy, serve it stale when upstream fails, learn a tag, and take a 200's body
// into a fill. The Exchange forwards (head, body, framing, redirects, the operator-account retry,
// the offline /v2/ ping); each decision about cached content is the tap's.
#include <memory>
#include <string>
#include <string_view>

#include "proxy/http/message.h"
#include "proxy/net/connector.h"
#include "proxy/observe/access_log.h"
#include "proxy/request_handler.h"

namespace regcache::proxy {

class Exchange;

// Where a response's body goes once a tap took it (a fill): the Exchange streams into it instead
// of to the client.
class BodySink {
public:
  virtual ~BodySink() = default;
  // Decoded body bytes, valid only during the call.
  virtual void append(std::string_view data) = 0;
  // The body was read whole (the upstream connection is already released).
  virtual void onFetchComplete() = 0;
};

// What the Exchange does with upstream's final head (status >= 200), as the tap judges it.
enum class TapVerdict {
  kPass,           // the client gets upstream's answer as it is
  kFollowRedirect, // follow the redirect (the Exchange bounds the hops); the last answer decides
  kConfirmation,   // a revalidating HEAD: the answer goes to the tap, never to the client
  kFill,           // a 200 to a GET: the tap may take its body (takeBody)
};

// What the tap is told of upstream's final head.
struct TapHead {
  std::string_view method; // the client's
  int status = 0;
  bool redirect = false;    // a redirect status (301, 302, 303, 307, 308) with a Location
  bool resendable = false;  // the request has no body: it can go out again (a redirect)
  bool mayRedirect = false; // under the Exchange's limit of redirects followed
};

class ExchangeTap {
public:
  virtual ~ExchangeTap() = default;

  // The request goes upstream as a HEAD instead of the client's `method`: upstream's answer
  // confirms a cached copy or not (kConfirmation), and never reaches the client.
  virtual bool revalidates(std::string_view method) const = 0;
  // The response feeds, or may feed, a fill: --fill-stall-timeout applies.
  virtual bool fills() const = 0;
  // What to do with upstream's final head.
  virtual TapVerdict judge(const TapHead &head) const = 0;
  // Whether a failure of upstream (unreachable, timed out, a 5xx or 429 head) may be answered
  // from a cached copy instead (answerForFailure).
  virtual bool coversFailure() const = 0;
  // Upstream failed before any response byte reached the client: the handler that answers the
  // client instead (the cached copy, stale), or null when there is none to serve. `host`: the
  // access log's; `upstream`: "host:port /path", for the log; `why`: what failed.
  virtual std::unique_ptr<RequestHandler>
  answerForFailure(ClientSide &client, const http::RequestHead &request, const std::string &host,
                   const std::string &upstream, const std::string &why) = 0;
  // kPass and kFill: upstream's final head before it is framed for the client. The tap may note
  // what it confirms or names (a HEAD that revalidates, a tag's digest) and mark `head` and
  // `record` (X-Cache). `registry`: the registry the client named (not a redirect's storage).
  virtual void onHead(ClientSide &client, std::string_view method, http::ResponseHead &head,
                      int redirects, AccessRecord &record, const net::Endpoint &registry) = 0;
  // kFill, after framing: marks the response the tap means to take (X-Cache).
  virtual void markFill(http::ResponseHead &head, AccessRecord &record) = 0;
  // kFill: takes the body of `head` (framed for the client, `serializedHead` its bytes). True
  // when the tap took `exchange` over: it called exchange.feedInto(), `serializedHead` went to
  // the client's reader, and the exchange belongs to the tap's fill. False: forward as usual.
  virtual bool takeBody(Exchange &exchange, const http::ResponseHead &head,
                        std::string &serializedHead) = 0;
  // kConfirmation: whether upstream's answer confirms the cached copy. `redirects` > 0: the
  // answer is storage's, where the registry sent the HEAD.
  virtual bool confirms(const http::ResponseHead &head, int redirects) const = 0;
  // kConfirmation, once the answer was read whole: the handler that takes the exchange's place
  // (the cached copy, or the request forwarded on its own). `request`, `target`: the client's,
  // as they were before a redirect to storage; `registry` where they go; `record` the exchange's
  // access record; `mirror`: a mirror request (Exchange::servesMirror).
  virtual std::unique_ptr<RequestHandler>
  afterRevalidation(ClientSide &client, bool confirmed, http::RequestHead request,
                    std::string target, const net::Endpoint &registry, const AccessRecord &record,
                    bool mirror) = 0;
  // The exchange ends without handing a body to the tap (an error, a 404, a declined fill):
  // whoever waits for the tap's fill is told. Idempotent.
  virtual void abandon() = 0;
};

} // namespace regcache::proxy
