#pragma once
// One client connection, from accept to close. It reads requests with the HTTP codec, answers
// CONNECT by tunnelling or by terminating TLS as the target host, and hands every other request
// to a RequestHandler. Each state has its own handler; libevent callbacks only forward to them.
//
//   ReadingRequest ──CONNECT, tunnel──▶ ConnectingTunnel ──▶ Tunnelling ──▶ Closed
//        │  ▲        ──CONNECT, intercept──▶ SendingConnectReply ──▶ TlsHandshake ─┐
//        │  └────────────────────── next request (keep-alive) ◀──────────────────┘
//        └──request head──▶ Handling ──response complete──▶ ReadingRequest | Closing
//   any state ──error──▶ Closing (flush what is queued) ──▶ Closed
//   ReadingRequest ──a password to hash──▶ Authenticating ──result──▶ as above (off-loop PBKDF2)
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "base/event_handles.h"
#include "proxy/http/message.h"
#include "proxy/http/parser.h"
#include "proxy/http/target.h"
#include "proxy/net/connector.h"
#include "proxy/net/read_gate.h"
#include "proxy/net/relay.h"
#include "proxy/request_handler.h"
#include "proxy/session/client_connections.h"
#include "proxy/session/handler_router.h"
#include "proxy/session/idle_connections.h"
#include "proxy/session/route.h"

namespace regcache::proxy {

class ProxyUsers;
class SessionServices;

class ClientSession final : public ClientSide, private http::RequestSink {
public:
  enum class State {
    kReadingRequest,
    kHandling,
    kConnectingTunnel,
    kTunnelling,
    kSendingConnectReply,
    kTlsHandshake,
    // A request head waits for its proxy password to be hashed on the ProxyAuthPool. The parser
    // holds after the head and reads are paused; the header timeout bounds the wait.
    kAuthenticating,
    kClosing,
    kClosed,
  };

  // Takes ownership of the accepted socket fd, and of `ticket`, which counts this connection
  // against --max-connections-per-client until the session is freed. `worker`: what the worker
  // this session runs on offers sessions (proxy/session/session_services.h).
  ClientSession(SessionServices &services, std::uint64_t id, int fd, const net::SocketAddress &peer,
                ClientConnections::Ticket ticket = {});
  ~ClientSession() override;
  ClientSession(const ClientSession &) = delete;
  ClientSession &operator=(const ClientSession &) = delete;

  void start();
  // For a connection accepted on --mirror-tls-listen: a TLS handshake first, with a leaf for
  // the client's SNI, else for the local address it connected to; then requests as on the plain
  // listener (the mirror and the admin endpoints), inside TLS.
  void startMirrorTls();
  State state() const { return state_; }
  // Draining: closes the connection now if it waits between two requests (after at least one
  // response, with no byte of the next request read); a fresh connection keeps its first
  // request, which no client would retry. Returns whether it closed.
  bool closeIfIdle();

  // ClientSide
  HandlerServices &services() override;
  const std::string &logPrefix() const override { return prefix_; }
  const net::SocketAddress &peer() const override { return peer_; }
  const std::string &user() const override { return user_; }
  evbuffer *clientOutput() override;
  // Written to the socket at once when nothing is queued (net::sendEagerly): a small response
  // then costs no write event.
  void sendToClient(std::string_view head, std::span<const char> body) override;
  bool clientOutputFull() const override;
  void pauseClientReads(bool paused) override;
  void onResponseComplete(bool keepAlive) override;
  void abortClient(const std::string &reason) override;
  void forwardInstead() override;
  void replaceHandler(std::unique_ptr<RequestHandler> next) override;
  std::unique_ptr<RequestHandler> handOver(std::unique_ptr<RequestHandler> next) override;

private:
  // http::RequestSink
  void onRequestHead(http::RequestHead &&head) override;
  void onRequestBody(std::string_view data) override;
  void onRequestEnd() override;

  static void onRead(bufferevent *bev, void *arg) noexcept;
  static void onWrite(bufferevent *bev, void *arg) noexcept;
  static void onEvent(bufferevent *bev, short what, void *arg) noexcept;
  static void onTimer(evutil_socket_t, short, void *arg) noexcept;
  static void onContinue(evutil_socket_t, short, void *arg) noexcept;

  void transitionTo(State next);
  void installClientBev(BufferEventPtr bev);
  void armTimer(std::chrono::milliseconds timeout);

  // One handler per state for each kind of event.
  void handleReadable();
  void handleDrained();
  void handleEvent(short what);
  void handleTimeout();

  void feedParser();
  void startRequest(http::RequestHead &&head);
  void startConnect();
  bool overConnectionLimit() const;
  void onTargetResolved(Result<net::Resolver::Addresses> addresses);
  void refuseConnect(const std::string &reason);
  void interceptConnect();
  void openTunnel();
  void onTunnelConnected(Result<net::Connector::Connection> connection);
  void startTlsHandshake();
  void onHandshakeDone();
  void continueAfterResponse();
  void respondAndClose(int status, const std::string &message,
                       const std::string &extraHeaders = "");
  // What a request's credentials are checked for: the proxy itself (407 without), or an admin
  // endpoint (an admin user; 403 without, from the endpoint).
  enum class CredentialUse { kProxy, kAdmin, kMirror };
  struct PendingCredentials {
    http::RequestHead head;
    Route route;
    CredentialUse use;
    std::string user;                        // who the header claims to be
    std::shared_ptr<const ProxyUsers> users; // the snapshot the check runs against
  };
  // With --proxy-auth-file: checks the request's credentials against `users` (the request's one
  // snapshot of the reloadable file, never null), at once or (a password) on the ProxyAuthPool,
  // then goes on with onCredentialsChecked.
  void checkCredentials(http::RequestHead &&head, Route &&route, CredentialUse use,
                        std::shared_ptr<const ProxyUsers> users);
  // On the loop, with the pool's answer; ignored once the session closed (the weak handle).
  void onPasswordChecked(std::shared_ptr<PendingCredentials> pending, bool verified);
  // `user`: who the credentials proved against `users`, or nothing.
  void onCredentialsChecked(http::RequestHead &&head, Route &&route, CredentialUse use,
                            std::optional<std::string> user, const ProxyUsers &users);
  // Routing once the client is known: `admin` says whether it may read admin endpoints.
  void dispatchRequest(http::RequestHead &&head, Route &&route, bool admin);
  void closeAfterFlush();
  // A response answered and nothing of the next request read (its bytes may still be going out):
  // what the drain closes.
  bool awaitingNextRequest() const;
  // Between two requests: awaitingNextRequest, and the response all written: what the idle bound
  // may close.
  bool betweenRequests() const;
  // Tells the idle bound (--max-idle-connections) whether the connection is idle now.
  void updateIdleMark();
  // The idle bound picked this connection: close_notify if TLS, then a close. False (and
  // nothing done) when it is no longer between requests.
  bool closeForIdleBound();
  // Tells the handler the client is gone, and frees it.
  void releaseHandler();
  void close();

  SessionServices &services_; // what the worker this session runs on lends it
  std::uint64_t id_;
  std::string prefix_;
  net::SocketAddress peer_;
  ClientConnections::Ticket ticket_;
  std::string user_ = "-"; // proven with Proxy-Authorization; kept for the intercepted session
  State state_ = State::kReadingRequest;

  BufferEventPtr bev_;
  net::ReadGate gate_;
  std::optional<http::RequestParser> parser_;
  EventPtr timer_;
  EventPtr continue_;
  bool headerTimerArmed_ = false;

  // The CONNECT target once intercepted: every request inside the TLS session goes there.
  std::optional<http::HostPort> intercepted_;
  std::optional<http::HostPort> connectTarget_;
  // Accepted on --mirror-tls-listen: the handshake names no CONNECT target (connectTarget_ is
  // the local address), and nothing is intercepted after it.
  bool mirrorTls_ = false;

  // The request waiting in kAuthenticating. The pool's callback holds only a weak_ptr to it, so
  // a session closed (or freed) meanwhile is never touched.
  std::shared_ptr<PendingCredentials> pendingCredentials_;
  std::unique_ptr<RequestHandler> handler_;
  // A cache follower's request, kept so it can still be forwarded on its own.
  ForwardFallback fallback_;
  bool requestDone_ = false;
  bool responseDone_ = false;
  bool keepAlive_ = true;
  bool answeredOne_ = false; // a response completed on this connection
  // The client's EOF came while a response was being written (reads go on past a message end):
  // handled once the requests it sent before are answered.
  bool peerClosed_ = false;

  std::unique_ptr<net::Connector> tunnelConnector_;
  std::shared_ptr<net::Resolver::Lookup> targetLookup_; // judging an intercepted CONNECT's target
  std::unique_ptr<net::Relay> relay_;
  std::chrono::steady_clock::time_point connectStarted_;
  // Last: unlinked from the worker's idle list before anything else of the session goes.
  IdleList::Entry idleEntry_{[this] { return closeForIdleBound(); }};
};

} // namespace regcache::proxy
