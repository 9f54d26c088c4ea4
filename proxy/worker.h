#pragma once
// One worker thread: its own event loop, listeners (SO_REUSEPORT), resolver, upstream pool and
// client sessions. Nothing in a worker is touched by another thread except stop().
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/event_handles.h"
#include "base/result.h"
#include "proxy/forward/upstream_pool.h"
#include "proxy/handler_services.h"
#include "proxy/loop_completions.h"
#include "proxy/net/connector.h"
#include "proxy/net/listener.h"
#include "proxy/net/loop_mailbox.h"
#include "proxy/net/resolver.h"
#include "proxy/request_handler.h"
#include "proxy/shared_context.h"

namespace regcache::proxy {

class ClientSession;
class Fill;
class IdleList;
class PublicProbe;

class Worker {
public:
  // Throws std::runtime_error if the loop or resolver cannot be created (start-up only).
  Worker(unsigned index, SharedContext &shared);
  ~Worker();
  Worker(const Worker &) = delete;
  Worker &operator=(const Worker &) = delete;

  // Binds every listen address, or, when `inherited` is not empty (socket activation), accepts
  // on a duplicate of each inherited socket instead (the caller keeps the originals). Call
  // before start().
  Result<void> listen(const std::vector<int> &inherited = {});
  // Runs the loop on its own thread.
  void start();
  // Thread-safe: asks the loop to exit; join() waits for it.
  void stop();
  void join();
  // Thread-safe: stops accepting (the listeners close; an inherited socket stays open in the
  // process that passed it, so new clients wait in its backlog), closes keep-alive connections
  // that sit between requests, and lets every other session finish its response and close.
  void beginDrain();
  // Thread-safe: true once a drain left no client session and no fill running on this worker.
  bool drained() const { return drained_.load(); }
  // Loop thread: a drain has begun, so a session closes after its current response.
  bool draining() const { return draining_; }

  event_base *base() { return base_.get(); }
  net::Resolver &resolver() { return *resolver_; }
  UpstreamPool &pool() { return pool_; }
  SharedContext &shared() { return shared_; }
  const ServerOptions &options() const { return shared_.options; }
  // What handlers on this loop may use (ClientSide::services()).
  HandlerServices &services() { return *services_; }
  unsigned index() const { return index_; }
  std::size_t sessionCount() const { return sessions_.size(); }
  std::vector<net::SocketAddress> boundAddresses() const;
  // True when the cache is on: then SharedContext's indexView and indexWriter are set.
  bool cacheEnabled() const { return shared_.indexWriter != nullptr; }
  // How to connect to `host` upstream: the options' timeouts, the target policy judging every
  // resolved address (or, through --upstream-proxy, the name), and the upstream TLS context.
  net::ConnectSettings upstreamConnectSettings(const std::string &host) const;
  // Where other threads hand work back to this loop (ProxyAuthPool's results). Closed when the
  // worker goes, so a late result is dropped.
  const std::shared_ptr<net::LoopMailbox> &mailbox() const { return mailbox_; }
  // Where the blob store completes this loop's reads and writes (through the mailbox).
  cache::CompletionQueue &completions() { return *completions_; }
  // This loop's idle client connections, under the process's --max-idle-connections.
  IdleList &idleConnections() { return *idle_; }

  // Frees `object` on the next loop turn, so code on the stack that belongs to it can unwind.
  template <class T> void deleteLater(std::unique_ptr<T> object) {
    if (!object) return;
    graveyard_.push_back(std::shared_ptr<void>(std::move(object)));
    event_active(reaper_.get(), EV_TIMEOUT, 0);
  }
  // Called by a session that has finished; it is freed on the next loop turn.
  void onSessionClosed(ClientSession *session);
  // Keeps a fill (and the fetch it owns) until it calls endFill(): a fill belongs to the
  // process, not to a client. Freed with the worker if it never does.
  void keepFill(std::unique_ptr<Fill> fill);
  void endFill(Fill *fill);
  std::size_t fillsKept() const { return fills_.size(); }
  // Keeps a probe of upstream running until it calls endProbe(); freed with the worker if not.
  void startProbe(std::unique_ptr<PublicProbe> probe);
  void endProbe(PublicProbe *probe);

private:
  // Frees, on the next loop turn, an object kept in `kept` until it said it was done.
  template <class T>
  void releaseFrom(std::unordered_map<T *, std::unique_ptr<T>> &kept, T *object) {
    auto it = kept.find(object);
    if (it == kept.end()) return;
    deleteLater(std::move(it->second));
    kept.erase(it);
  }
  // `mirrorTls`: accepted on a --mirror-tls-listen socket; the session starts with a TLS
  // handshake.
  void onAccept(int fd, const net::SocketAddress &peer, bool mirrorTls = false);
  static void onReap(evutil_socket_t, short, void *arg) noexcept;

  // Loop thread, every kDrainCheck while draining: publishes drained().
  static void onDrainCheck(evutil_socket_t, short, void *arg) noexcept;
  static constexpr std::chrono::milliseconds kDrainCheck{50};

  unsigned index_;
  SharedContext &shared_;
  EventBasePtr base_;
  EventPtr reaper_;
  std::unique_ptr<net::Resolver> resolver_;
  std::shared_ptr<net::LoopMailbox> mailbox_;
  std::unique_ptr<LoopCompletions> completions_;
  std::unique_ptr<HandlerServices> services_;
  std::unique_ptr<IdleList> idle_; // before sessions_: a session leaves it when it goes
  UpstreamPool pool_;
  std::vector<std::unique_ptr<net::Listener>> listeners_;
  std::unordered_map<ClientSession *, std::unique_ptr<ClientSession>> sessions_;
  std::unordered_map<Fill *, std::unique_ptr<Fill>> fills_;
  std::unordered_map<PublicProbe *, std::unique_ptr<PublicProbe>> probes_;
  std::vector<std::shared_ptr<void>> graveyard_;
  bool draining_ = false;
  std::atomic<bool> drained_{false};
  EventPtr drainCheck_;
  std::thread thread_;
};

} // namespace regcache::proxy
