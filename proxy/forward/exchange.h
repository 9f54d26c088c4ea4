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
#include "base/oci/digest.h"
#include "base/unique_fd.h"
#include "cache/blob_store.h"
#include "cache/fill_budget.h"
#include "cache/fill_registry.h"
#include "cache/index.h"
#include "proxy/access/access_memo.h"
#include "proxy/cache/revalidation.h"
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

class Fill;

// A blob or manifest by digest to store while it streams to the client.
struct CacheFill {
  oci::Digest digest;
  std::string fillKey;    // in the FillRegistry: registry, kind, digest, and credential if any
  std::string registry;   // upstream host[:port]
  std::string repository; // "library/alpine"
  bool manifest = false;
  std::shared_ptr<cache::FillProgress> progress; // shared with followers on any worker
  // By tag: the digest comes from the response's Docker-Content-Digest, and the tag is recorded.
  std::optional<std::string> tag;
  std::string acceptKey;
  // The client's Authorization; empty: fetched without credentials, so servable to anyone
  // asking under this repository.
  Credential credential;
};

class Exchange final : public RequestHandler, private http::ResponseSink {
public:
  enum class State { kConnecting, kAwaitingResponse, kStreamingResponse, kDone, kFailed };

  // originTarget: the path and query to send upstream ("/v2/...").
  // With `fill`, a 200 with a Content-Length starts a Fill (proxy/cache/fill.h): this exchange
  // hands itself to it, streams the body into it, and the client reads the fill like any other
  // reader (a StarterReader takes this exchange's place in the session). The fill stores the
  // body and commits it only if its SHA-256 and length match; on a mismatch every reader is cut
  // off before the last bytes, so no client ever gets a complete response with wrong bytes.
  Exchange(ClientSide &client, http::RequestHead request, net::Endpoint endpoint,
           std::string originTarget, std::optional<CacheFill> fill = std::nullopt,
           std::optional<CacheCandidate> candidate = std::nullopt,
           std::optional<cache::TagRecord> tagToLearn = std::nullopt);
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
  // Hands the client to the cached copy of a tag's manifest; true if there is one.
  bool serveStale(const std::string &why);
  bool revalidating() const;
  // After the revalidating HEAD: serve the cached manifest, or fetch the new one.
  void finishRevalidation();
  // Tells followers of a fill that never started (it ends before the 200 head, or is declined)
  // that it is over; idempotent. Once started, the Fill tells them.
  void endFill(cache::FillProgress::State state);
  static constexpr int kMaxRedirects = 5;
  // Starts a fill for a 200, unless it is announced past --max-blob-size or does not fit beside
  // the fills in flight (FillBudget): then it passes through, and followers are told at once so
  // they fetch on their own. True when the fill took this exchange over: `serializedHead` then
  // went to the client's reader, and this exchange belongs to the fill.
  bool startFill(const http::ResponseHead &head, std::string &serializedHead);
  void declineFill(const std::string &why);
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

  ClientSide *client_;   // the session, or the fill's end of the fetch once a fill owns this
  Fill *feed_ = nullptr; // the fill that owns this exchange; its body goes there
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
  bool clientKeepAlive_ = true;
  bool responseHeadSent_ = false;
  bool responseEnded_ = false;
  bool responseKeepAlive_ = false;
  bool upstreamEof_ = false;
  bool clientReadsPaused_ = false;
  bool logged_ = false;
  AccessRecord record_;
  std::optional<CacheFill> fill_;
  std::optional<std::string> redirectTo_;
  std::optional<CacheCandidate> candidate_;
  // The registry the client named. A followed redirect points endpoint_ at storage, but the
  // public probe and everything decided about a repository belong to the registry.
  net::Endpoint registryEndpoint_;
  // The client's request and target as they were before a revalidating HEAD followed a redirect
  // to storage: a refused confirmation sends them to the registry again.
  std::optional<http::RequestHead> registryRequest_;
  std::string registryTarget_;
  // A client HEAD of a manifest by tag: the tag whose digest upstream's 200 names. Clients such
  // as dockerd pull by HEAD on the tag, then GET by digest; without this the tag would never be
  // in the cache, and such a pull would fail while upstream is down.
  std::optional<cache::TagRecord> tagToLearn_;
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
