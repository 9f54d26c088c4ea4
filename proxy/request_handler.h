#pragma once
// The seam between a client connection and whatever answers one request on it. ClientSession
// parses requests and owns the client socket; a RequestHandler produces one response: the
// forwarder (Exchange), the admin endpoints, the cache handlers and the readers of a fill.
#include <event2/buffer.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "proxy/net/socket_address.h"

namespace regcache::proxy {

class RequestHandler;
class HandlerServices;

// What a handler may do to the client connection it serves.
class ClientSide {
public:
  virtual ~ClientSide() = default;
  // What a handler may use of the worker it runs on (proxy/handler_services.h); a handler never
  // sees the Worker itself.
  virtual HandlerServices &services() = 0;
  virtual const std::string &logPrefix() const = 0; // "[c42]"
  virtual const net::SocketAddress &peer() const = 0;
  // Who the client proved to be with proxy credentials; "-" without.
  virtual const std::string &user() const = 0;
  // Where the response goes. Bytes added here are sent to the client.
  virtual evbuffer *clientOutput() = 0;
  // True when the client's output is past the high watermark: stop producing until
  // RequestHandler::onClientDrained().
  virtual bool clientOutputFull() const = 0;
  // Stops or restarts reading request bytes (body) from the client, e.g. while upstream is slow.
  virtual void pauseClientReads(bool paused) = 0;
  // The response is complete in clientOutput(). keepAlive false closes the connection once it is
  // written. Call once; the handler is destroyed later on the loop, never inside this call.
  virtual void onResponseComplete(bool keepAlive) = 0;
  // Something failed after the response head was sent: the client connection is dropped so
  // the client sees a truncated response, never a complete one with wrong bytes.
  virtual void abortClient(const std::string &reason) = 0;
  // Replaces the current handler with a plain forward of the same request (a cache follower
  // whose fill ended without a blob). Only for requests without a body.
  virtual void forwardInstead() = 0;
  // Replaces the current handler with `next` (a stale cached answer instead of an upstream
  // error); the old one is freed later on the loop. Only before any response byte was sent.
  virtual void replaceHandler(std::unique_ptr<RequestHandler> next) = 0;
  // Like replaceHandler, but the current handler is given back to the caller instead of freed:
  // an Exchange whose response starts a fill hands itself to the fill (proxy/cache/fill.h) and
  // leaves `next`, the client's reader of that fill, in its place. Call only from inside the
  // current handler, while it serves the request.
  virtual std::unique_ptr<RequestHandler> handOver(std::unique_ptr<RequestHandler> next) = 0;
};

class RequestHandler {
public:
  virtual ~RequestHandler() = default;
  // Begins work once the session holds the handler; it may complete the response right away.
  virtual void start() = 0;
  // Decoded request body bytes, valid only during the call.
  virtual void onRequestBody(std::string_view data) = 0;
  // The request has been read completely.
  virtual void onRequestEnd() = 0;
  // The client's output drained below the low watermark.
  virtual void onClientDrained() {}
  // The client connection is gone; release upstream resources. No ClientSide call after this.
  // Work others depend on (a fill) never lives in a handler: it belongs to the worker.
  virtual void onClientClosed() {}
};

} // namespace regcache::proxy
