#pragma once
// Forwards one request to its upstream and streams the response back: the pass-through
// RequestHandler. It takes a pooled keep-alive connection or opens one, re-frames bodies
// (chunked stays chunked, Content-Length stays exact), strips hop-by-hop headers, adds Via, and
// applies backpressure both ways: a slow client stalls upstream reads and a slow upstream stalls
// client reads, so memory stays flat whatever the body size.
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "base/event_handles.h"
#include "proxy/forward/exchange_tap.h"
#include "proxy/forward/operator_account.h"
#include "proxy/forward/upstream_pool.h"
#include "proxy/http/message.h"
#include "proxy/http/parser.h"
#include "proxy/net/connector.h"
#include "proxy/net/read_gate.h"
#include "proxy/observe/access_log.h"
#include "proxy/observe/metrics.h"
#include "proxy/request_handler.h"

namespace regcache::proxy {

class Exchange final : public RequestHandler, private http::ResponseSink {
public:
  enum class State { kConnecting, kAwaitingResponse, kStreamingResponse, kDone, kFailed };

  static constexpr int kMaxRedirects = 5;

  // originTarget: the path and query to send upstream ("/v2/...").
  // With a `tap` (proxy/forward/exchange_tap.h), the layer above decides what becomes of the
  // response: the registry cache revalidates, serves stale, or takes a 200's body into a fill
  // (this exchange then hands itself over and streams the body into the tap's BodySink).
  Exchange(ClientSide &client, http::RequestHead request, net::Endpoint endpoint,
           std::string originTarget, std::unique_ptr<ExchangeTap> tap = nullptr);
  ~Exchange() override;

  // A mirror request (docs/mirror.md): its upstream access is the proxy's own. With no operator
  // account for the registry, a Bearer challenge is answered with an anonymous token the proxy
  // fetches from the challenge's realm itself (cached per registry and scope, apart from the
  // accounts' tokens), and the request is sent again. Call before start().
  void servesMirror();

  void start() override;
  void onRequestBody(std::string_view data) override;
  void onRequestEnd() override;
  void onClientDrained() override;
  void onClientClosed() override;

  // While a fill owns this exchange: pauses or resumes upstream reads for `why` (the store has
  // too many bytes queued; the client that started the fill cannot keep up nor read back).
  void holdUpstream(net::ReadGate::Reason why, bool held);

  // For ExchangeTap::takeBody, while it runs. The client (session) this exchange serves, its
  // access record, whether the client connection stays open after this response, and the
  // registry the client named (not a redirect's storage).
  ClientSide &client() { return *client_; }
  AccessRecord &record() { return record_; }
  bool clientKeepAlive() const { return clientKeepAlive_; }
  const net::Endpoint &registryEndpoint() const { return registryEndpoint_; }
  // The tap took the body: from now on it goes to `sink`, and this exchange answers to
  // `fetchEnd` (the fill's side of the fetch) instead of the client, whose access line the
  // tap's reader writes.
  void feedInto(BodySink &sink, ClientSide &fetchEnd);

private:
  // http::ResponseSink
  void onResponseHead(http::ResponseHead &&head) override;
  void onResponseBody(std::string_view data) override;
  void onResponseEnd() override;

  static void onUpstreamRead(bufferevent *bev, void *arg) noexcept;
  static void onUpstreamWrite(bufferevent *bev, void *arg) noexcept;
  static void onUpstreamEvent(bufferevent *bev, short what, void *arg) noexcept;

  void connect(bool allowPooled);
  void finishResponse();
  void logOnce();
  // Answers a /v2/ ping when upstream is unreachable or failing; false if this request is not one.
  bool answerPingOffline(const std::string &why);
  bool canAnswerPing() const;
  void followRedirect();
  // --upstream-auth (OperatorAccount): whether this request goes with the operator's account,
  // and the retry after a 401 with what the account obtains.
  bool usesOperatorAccount() const;
  bool canRetryWithOperatorAccount() const;
  void retryWithOperatorAccount();
  // Whether the upstream connection can serve another request: this request was sent whole
  // (the client's body read to its end, nothing left to write), the response parsed to its end
  // with no byte after it, and upstream keeps the connection alive. The one test every path
  // that gives a connection back to the pool goes through.
  bool upstreamIsClean() const;
  // Detaches the upstream connection: back to the pool if upstreamIsClean(), else closed.
  void releaseUpstream();
  // Hands the client to what the tap serves when upstream fails (a cached copy, stale); true if
  // it did.
  bool serveStale(const std::string &why);
  bool revalidating() const;
  // After the revalidating HEAD: the tap's handler (the cached copy, or the request on its own)
  // takes this exchange's place.
  void finishRevalidation();
  // Tells the tap nothing more comes to it (no fill); idempotent.
  void abandonTap();
  // A fill's upstream gets --fill-stall-timeout (if shorter than --upstream-timeout) as its
  // read and write timeout. libevent counts it only while reads are enabled, so "no progress"
  // means no byte from upstream while the proxy is asking for bytes: time paused by the
  // client's backpressure does not count (a client that stops reading is cut by
  // --idle-timeout, and the fill then goes on without it).
  void applyFillStallTimeout();
  void onConnected(Result<net::Connector::Connection> connection);
  void attachUpstream(BufferEventPtr bev);
  void sendRequestHead();
  void writeUpstream(std::string_view data);
  void feedResponse();
  void handleUpstreamEvent(short what);
  void failUpstream(int status, const std::string &reason, UpstreamError kind);
  void finish();
  bool retryable() const;

  ClientSide *client_;       // the session, or the fill's end of the fetch once a fill owns this
  BodySink *feed_ = nullptr; // the fill that owns this exchange; its body goes there
  http::RequestHead request_;
  net::Endpoint endpoint_;
  PoolKey poolKey_;
  std::string originTarget_;
  State state_ = State::kConnecting;

  std::unique_ptr<net::Connector> connector_;
  BufferEventPtr upstream_;
  net::ReadGate upstreamGate_;
  EvBufferPtr pendingBody_; // request body received before the upstream was ready
  std::optional<http::ResponseParser> parser_;

  bool reusedConnection_ = false;
  bool retried_ = false;
  bool requestComplete_ = false;
  bool requestBodyStarted_ = false;
  bool chunkedToUpstream_ = false;
  bool chunkedToClient_ = false;
  std::optional<std::uint64_t> lengthToClient_; // the body's length, when the client is told it
  bool clientKeepAlive_ = true;
  bool responseHeadSent_ = false;
  bool responseEnded_ = false;
  bool responseKeepAlive_ = false;
  bool upstreamEof_ = false;
  bool clientReadsPaused_ = false;
  bool logged_ = false;
  AccessRecord record_;
  std::unique_ptr<ExchangeTap> tap_;
  std::optional<std::string> redirectTo_;
  // The registry the client named. A followed redirect points endpoint_ at storage, but the
  // public probe and everything decided about a repository belong to the registry.
  net::Endpoint registryEndpoint_;
  // The client's request and target as they were before a revalidating HEAD followed a redirect
  // to storage: a refused confirmation sends them to the registry again.
  std::optional<http::RequestHead> registryRequest_;
  std::string registryTarget_;
  int redirects_ = 0;
  std::optional<bool> confirmed_; // the revalidating HEAD's verdict
  OperatorAccount operatorAccount_;
  std::optional<http::AuthChallenge> authChallenge_; // a 401 to answer with the account
  bool authRetried_ = false;
  bool mirror_ = false;
  // Expires with the exchange: a completion posted from another thread checks it first.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace regcache::proxy
