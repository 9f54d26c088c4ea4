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
#include "proxy/session/session_services.h"
#include "proxy/shared_context.h"

namespace regcache::proxy {

class ClientSession;
class Fill;
class PublicProbe;

// The Worker is what its sessions see as SessionServices and its handlers as HandlerServices:
// they get the interfaces, never this class.
class Worker final : public SessionServices {
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

  SharedContext &shared() { return shared_; }
  // What handlers on this loop may use (ClientSide::services()).
  HandlerServices &services() { return *this; }
  unsigned index() const { return index_; }
  std::size_t sessionCount() const { return sessions_.size(); }
  std::vector<net::SocketAddress> boundAddresses() const;
  std::size_t fillsKept() const { return fills_.size(); }

  // SessionServices (proxy/session/session_services.h states each contract).
  std::shared_ptr<const std::vector<net::Cidr>> allowedClients() const override {
    return shared_.allowedClients.load();
  }
  std::shared_ptr<const ProxyUsers> proxyUsers() const override {
    return shared_.proxyUsers.load();
  }
  std::shared_ptr<const std::vector<net::Cidr>> adminClients() const override {
    return shared_.adminClients.load();
  }
  ProxyAuthPool &proxyAuthPool() override { return *shared_.proxyAuthPool; }
  std::shared_ptr<const TargetPolicy> targets() const override { return shared_.targets.load(); }
  const InterceptPolicy &interceptPolicy() const override { return shared_.policy; }
  SSL_CTX *interceptTls() const override { return shared_.interceptTls; }
  bool draining() const override { return draining_; }
  void onSessionClosed(ClientSession *session) override;

  // HandlerServices (proxy/handler_services.h states each contract).
  const ServerOptions &options() const override { return shared_.options; }
  Metrics &metrics() override { return shared_.metrics; }
  AccessMemo &accessMemo() override { return shared_.accessMemo; }
  std::chrono::milliseconds tagTtl() const override { return shared_.tagTtl.load(); }
  bool cacheEnabled() const override { return shared_.indexWriter != nullptr; }
  cache::BlobStore *blobs() const override { return shared_.blobs; }
  const cache::IndexView *indexView() const override { return shared_.indexView; }
  cache::IndexWriter *indexWriter() const override { return shared_.indexWriter; }
  cache::FillRegistry *fills() const override { return shared_.fills; }
  cache::FillBudget *fillBudget() const override { return shared_.fillBudget; }
  cache::TieredBlobStore *tiered() const override { return shared_.tiered; }
  const cache::s3::S3Stats *bucketStats() const override { return shared_.bucketStats; }
  PublicRepositories &publicRepositories() override { return shared_.publicRepositories; }
  cache::CompletionQueue &completions() override { return *completions_; }
  event_base *base() override { return base_.get(); }
  net::Resolver &resolver() override { return *resolver_; }
  UpstreamPool &pool() override { return pool_; }
  net::ConnectSettings upstreamConnectSettings(const std::string &host) const override;
  const std::shared_ptr<net::LoopMailbox> &mailbox() const override { return mailbox_; }
  std::shared_ptr<const upstream_auth::Credentials> upstreamCredentials() const override {
    return shared_.upstreamCredentials.load();
  }
  upstream_auth::TokenCache &upstreamTokens() override { return shared_.upstreamTokens; }
  ca::LeafCache &leaves() override { return shared_.leaves; }
  StatusSources statusSources() override;
  void keepFill(std::unique_ptr<Fill> fill) override;
  void endFill(Fill *fill) override;
  void startProbe(std::unique_ptr<PublicProbe> probe) override;
  void endProbe(PublicProbe *probe) override;

private:
  void bury(std::shared_ptr<void> object) override;
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
