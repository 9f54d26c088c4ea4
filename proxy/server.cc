#include "proxy/server.h"

#include <ares.h>
#include <event2/thread.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <thread>

#include "base/clock.h"
#include "base/data_dir_lock.h"
#include "base/log.h"
#include "base/periodic_thread.h"
#include "base/privileges.h"
#include "ca/authority.h"
#include "ca/leaf_cache.h"
#include "ca/mint_limiter.h"
#include "cache/blob_store_sync.h"
#include "cache/evictor.h"
#include "cache/file_blob_store.h"
#include "cache/fill_budget.h"
#include "cache/fill_registry.h"
#include "cache/index.h"
#include "cache/index_view.h"
#include "cache/index_writer.h"
#include "cache/reconcile.h"
#include "cache/tiered_blob_store.h"
#include "proxy/access/proxy_auth_pool.h"
#include "proxy/ca_watcher.h"
#include "proxy/live_config.h"
#include "proxy/net/inherited_sockets.h"
#include "proxy/net/tls_contexts.h"
#include "proxy/observe/access_log.h"
#include "proxy/observe/stats_flusher.h"
#include "proxy/session/intercept_tls.h"
#include "proxy/shared_store.h"
#include "proxy/worker.h"

namespace regcache::proxy {

struct Server::Impl {
  ServerOptions options;
  std::optional<DataDirLock> dataDirLock; // held from start() to destruction
  std::shared_ptr<const ca::Authority> authority;
  std::unique_ptr<ca::LeafCache> leaves;
  std::unique_ptr<ca::MintLimiter> mints;
  std::unique_ptr<CaWatcher> caWatcher;
  std::shared_ptr<cache::BlobStore> localBlobs;  // this host's disk; the evictor's and reconcile's
  std::shared_ptr<cache::BlobStore> sharedBlobs; // the fleet's bucket (--store); null without
  std::shared_ptr<cache::BlobStore> blobs;       // what the loops use: local, or both tiers
  cache::TieredBlobStore *tiered = nullptr;      // `blobs` when it is tiered
  const cache::s3::S3Stats *s3Stats = nullptr;   // the bucket's, when it is an S3 store
  std::unique_ptr<cache::FillBudget> fillBudget; // before the evictor, which reads it
  cache::IndexView indexView;                    // before the writer and the evictor
  std::unique_ptr<cache::IndexWriter> indexWriter;
  std::unique_ptr<cache::Evictor> evictor;
  cache::FillRegistry fills;
  SslCtxPtr interceptTls;
  SslCtxPtr upstreamTls;
  std::unique_ptr<SharedContext> shared;
  std::unique_ptr<ProxyAuthPool> proxyAuthPool; // its checks hold their own users snapshots
  std::unique_ptr<StatsFlusher> statsFlusher;
  // Samples the counters for the status page's last hour (one kept per minute).
  std::unique_ptr<PeriodicThread> statusSampler;
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<net::SocketAddress> bound;
  // Passed by socket activation; kept open until the process exits, so the kernel queues new
  // connections in their backlog while a drain runs and the next process starts.
  std::vector<int> inheritedSockets;
  bool running = false;
};

namespace {

void initLibrariesOnce() {
  static const bool done = [] {
    evthread_use_pthreads();
    if (int rc = ares_library_init(ARES_LIB_INIT_ALL); rc != ARES_SUCCESS) {
      throw std::runtime_error(std::string("c-ares init: ") + ares_strerror(rc));
    }
    // A client that vanishes mid-write must cost an error return, not the process.
    signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)done;
}

} // namespace

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
}

Server::~Server() { stop(); }

void Server::start() {
  initLibrariesOnce();
  auto &o = impl_->options;
  if (o.dataDir.empty()) throw std::runtime_error("no data directory given");
  std::error_code ec;
  std::filesystem::create_directories(o.dataDir, ec);
  if (ec) throw std::runtime_error("cannot create " + o.dataDir.string() + ": " + ec.message());
  // Before anything in the data dir is touched: a second server must not sweep the first one's
  // live fills (see base/data_dir_lock.h).
  auto locked = DataDirLock::lockForServer(o.dataDir);
  if (!locked.ok()) throw std::runtime_error(locked.failure().detail);
  impl_->dataDirLock.emplace(std::move(locked.value()));

  auto authority = ca::Authority::loadOrCreate(o.dataDir / "ca", SystemClock::instance());
  if (!authority.ok()) {
    throw std::runtime_error("CA in " + (o.dataDir / "ca").string() + ": " +
                             authority.failure().detail);
  }
  impl_->authority = authority.value();
  ca::MintOptions mint;
  mint.validity = o.leafValidity;
  impl_->leaves = std::make_unique<ca::LeafCache>(impl_->authority, SystemClock::instance(),
                                                  o.leafCacheSize, mint);
  impl_->caWatcher = std::make_unique<CaWatcher>(
      o.dataDir / "ca", *impl_->leaves, SystemClock::instance(),
      CaWatchOptions{o.caCheckInterval, o.caRotateEvery, o.caOverlap, o.leafValidity});
  impl_->mints =
      std::make_unique<ca::MintLimiter>(SystemClock::instance(), o.mintsPerClientPerMinute);
  impl_->interceptTls = makeInterceptContext(*impl_->leaves, impl_->mints.get());
  impl_->upstreamTls = net::makeUpstreamContext(o.upstreamCaFiles);
  // SharedContext holds an atomic, so it is built in place rather than moved.
  impl_->shared.reset(new SharedContext{o, *impl_->leaves, impl_->interceptTls.get(),
                                        impl_->upstreamTls.get(),
                                        InterceptPolicy(o.interceptPatterns, o.tunnelPatterns),
                                        nullptr, &impl_->fills, o.dataDir / "cache.db"});
  impl_->shared->tagTtl.store(o.tagTtl);
  if (!o.upstreamProxy.empty()) {
    auto parent = net::parseParentProxyUrl(o.upstreamProxy);
    if (!parent.ok()) throw std::runtime_error(parent.failure().detail);
    auto exceptions = net::NoProxyList::parse(o.upstreamNoProxy);
    if (!exceptions.ok()) throw std::runtime_error(exceptions.failure().detail);
    parent->exceptions = std::move(exceptions.value());
    log::proxy().info("upstream connections go through parent proxy {}{}", parent->display(),
                      parent->exceptions.empty() ? "" : " (except --upstream-no-proxy hosts)");
    impl_->shared->upstreamProxy = std::make_shared<const net::ParentProxy>(std::move(*parent));
  }

  // Socket activation: the sockets systemd (or a test's launcher) passed replace --listen.
  auto inherited = net::takeInheritedSockets();
  if (!inherited.ok()) throw std::runtime_error(inherited.failure().detail);
  impl_->inheritedSockets = inherited.value();
  if (!impl_->inheritedSockets.empty()) {
    log::proxy().info("socket activation: accepting on {} inherited socket(s); --listen is ignored",
                      impl_->inheritedSockets.size());
  }
  unsigned count = o.workers != 0 ? o.workers : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < count; ++i) {
    auto worker = std::make_unique<Worker>(i, *impl_->shared);
    if (auto listening = worker->listen(impl_->inheritedSockets); !listening.ok()) {
      throw std::runtime_error(listening.failure().detail);
    }
    if (i == 0) {
      // Port 0 means "any": the other workers must share the port the first one got.
      impl_->bound = worker->boundAddresses();
      for (std::size_t k = 0;
           impl_->inheritedSockets.empty() && k < o.listen.size() && k < impl_->bound.size(); ++k) {
        o.listen[k].port = impl_->bound[k].port();
      }
      std::size_t plain =
          impl_->inheritedSockets.empty() ? o.listen.size() : impl_->inheritedSockets.size();
      for (std::size_t k = 0; k < o.mirrorTlsListen.size(); ++k) {
        if (plain + k < impl_->bound.size()) {
          o.mirrorTlsListen[k].port = impl_->bound[plain + k].port();
        }
      }
    }
    impl_->workers.push_back(std::move(worker));
  }
  // Access rules and accounts: the part SIGHUP can replace (Server::reload).
  auto live = loadLiveConfig(o, impl_->bound);
  if (!live.ok()) throw std::runtime_error(live.failure().detail);
  publish(*impl_->shared, std::move(live.value()));
  if (const auto &parent = impl_->shared->upstreamProxy) {
    // A proxy that is its own parent would CONNECT to itself without end.
    for (const auto &own : impl_->bound) {
      if (own.port() == parent->port && own.ipString() == parent->host) {
        throw std::runtime_error("--upstream-proxy " + parent->display() +
                                 " is this proxy's own listen address");
      }
    }
  }
  impl_->shared->metrics.limitLabelValues(o.metricsMaxLabelValues);
  impl_->shared->metrics.setBuildIdentity(o.build);
  setAccessLogFormat(o.accessLogFormat == "json" ? AccessLogFormat::kJson : AccessLogFormat::kText);
  if (!o.runAsUser.empty()) {
    // Every socket is bound and no thread runs yet: the last moment that needs root.
    if (auto dropped = dropPrivileges(o.runAsUser, o.dataDir); !dropped.ok()) {
      throw std::runtime_error(dropped.failure().detail);
    }
    log::proxy().info("running as {}", o.runAsUser);
  }
  // With the privileges the server keeps: as root, the tmp/ sweep and the index would act on
  // whatever the (unprivileged) owner of the data dir had planted there.
  if (o.cacheEnabled) openCache();
  impl_->shared->blobs = impl_->blobs.get();
  impl_->shared->tiered = impl_->tiered;
  impl_->shared->bucketStats = impl_->s3Stats;
  impl_->shared->fillBudget = impl_->fillBudget.get();
  impl_->shared->evictor = impl_->evictor.get();
  if (impl_->indexWriter) {
    impl_->shared->indexView = &impl_->indexView;
    impl_->shared->indexWriter = impl_->indexWriter.get();
    impl_->indexWriter->start();
  }
  if (impl_->indexWriter) {
    impl_->statsFlusher = std::make_unique<StatsFlusher>(
        *impl_->indexWriter, impl_->shared->metrics, o.evictionInterval);
  }
  {
    // Always there, even without proxy users: a reload may turn them on. Idle, its threads only
    // wait. A few of them, so even a flood of logins leaves cores to the event loops.
    ProxyAuthPool::Limits limits;
    limits.threads = std::clamp(std::thread::hardware_concurrency() / 4, 1u, 4u);
    impl_->proxyAuthPool = std::make_unique<ProxyAuthPool>(SystemClock::instance(), limits);
    impl_->shared->proxyAuthPool = impl_->proxyAuthPool.get();
  }
  for (auto &worker : impl_->workers)
    worker->start();
  impl_->caWatcher->start();
  if (impl_->evictor) impl_->evictor->start();
  if (impl_->statsFlusher) impl_->statsFlusher->start();
  impl_->statusSampler = std::make_unique<PeriodicThread>(std::chrono::seconds(5), [this] {
    SharedContext &shared = *impl_->shared;
    shared.history.record(sampleOf(shared.metrics, std::chrono::system_clock::now(),
                                   shared.evictor ? shared.evictor->evictedBlobs() : 0,
                                   shared.evictor ? shared.evictor->evictedBytes() : 0));
  });
  impl_->statusSampler->start();
  impl_->running = true;
}

std::vector<net::SocketAddress> Server::boundAddresses() const { return impl_->bound; }

void Server::openCache() {
  // The cache must never fail a pull: if it cannot be set up, run as a pass-through proxy.
  try {
    impl_->localBlobs = std::make_shared<cache::FileBlobStore>(
        impl_->options.dataDir, cache::FileBlobStoreOptions{impl_->options.storeIoThreads,
                                                            impl_->options.storeReadsOnLoop});
    if (impl_->options.localStoreWrapperForTests) {
      impl_->localBlobs = impl_->options.localStoreWrapperForTests(std::move(impl_->localBlobs));
    }
    auto swept = cache::removeLeftoversNow(*impl_->localBlobs);
    std::size_t leftovers = swept.ok() ? swept.value() : 0;
    if (leftovers != 0) log::cache().info("removed {} unfinished fill(s) from tmp/", leftovers);
    auto index = cache::Index::open(impl_->options.dataDir / "cache.db"); // migrates once
    if (!index.ok()) throw std::runtime_error(index.failure().detail);
    // This host's own tier only: its index is its own view, and the bucket is the fleet's.
    auto report = cache::reconcile(*index.value(), *impl_->localBlobs);
    if (report.orphanFiles != 0 || report.missingFiles != 0) {
      log::cache().warn("cache check at start-up: removed {} unindexed file(s) and {} row(s) "
                        "without a file",
                        report.orphanFiles, report.missingFiles);
    }
    // The hot part of the index goes to memory once; from here on the loops read it there.
    if (auto loaded = impl_->indexView.load(*index.value()); !loaded.ok()) {
      throw std::runtime_error(loaded.failure().detail);
    }
    std::uint64_t limit = impl_->options.cacheMaxSize != 0
                              ? impl_->options.cacheMaxSize
                              : cache::defaultCacheLimit(impl_->options.dataDir);
    impl_->fillBudget = std::make_unique<cache::FillBudget>(limit);
    impl_->evictor = std::make_unique<cache::Evictor>(
        impl_->options.dataDir / "cache.db", *impl_->localBlobs,
        cache::EvictionOptions{limit, impl_->options.evictionInterval, impl_->fillBudget.get(),
                               &impl_->indexView});
    log::cache().info("cache limit {} bytes", limit);
    cache::CacheTotals totals = impl_->indexView.totals();
    log::cache().info("cache: {} blobs, {} bytes in {}", totals.blobs, totals.bytes,
                      impl_->options.dataDir.string());
    // This connection is the writer's from now on, used only on its thread.
    impl_->indexWriter =
        std::make_unique<cache::IndexWriter>(std::move(index.value()), impl_->indexView);
    openSharedStore();
  } catch (const std::exception &e) {
    log::cache().warn("the cache is unavailable, passing everything through: {}", e.what());
    impl_->evictor.reset();
    impl_->indexWriter.reset();
    impl_->fillBudget.reset();
    impl_->blobs.reset();
    impl_->tiered = nullptr;
    impl_->localBlobs.reset();
  }
}

void Server::openSharedStore() {
  SharedStore shared;
  try {
    shared = makeSharedStore(impl_->options);
    impl_->sharedBlobs = shared.store;
  } catch (const std::exception &e) {
    // The fleet's store is a saving, never a condition: this host serves from its own disk.
    log::cache().warn("the shared store is unavailable, caching on this host alone: {}", e.what());
  }
  if (!impl_->sharedBlobs) {
    impl_->blobs = impl_->localBlobs;
    return;
  }
  auto tiered = std::make_shared<cache::TieredBlobStore>(impl_->localBlobs, impl_->sharedBlobs,
                                                         std::move(shared.markUsed));
  impl_->s3Stats = shared.s3Stats;
  impl_->tiered = tiered.get();
  impl_->blobs = std::move(tiered);
  if (impl_->options.storeRegistries.empty()) {
    log::cache().warn("--store is set but --store-registries is empty: fills go to the bucket, "
                      "but no pull is served from it");
  }
}

void Server::flushIndex() {
  if (impl_ && impl_->indexWriter) impl_->indexWriter->flush();
}

void Server::reloadCa() {
  if (impl_->caWatcher) impl_->caWatcher->checkNow();
}

Result<void> Server::reload(const ServerOptions &next) {
  if (!impl_->running) return fail(Error::kInternal, "the server is not running");
  // Everything is checked before anything changes: a bad part keeps the whole old config.
  auto live = loadLiveConfig(next, impl_->bound);
  if (!live.ok()) return live.failure();
  if (!log::setLevel(next.logLevel)) {
    return fail(Error::kInvalidInput, "bad --log-level " + next.logLevel);
  }
  publish(*impl_->shared, std::move(live.value()));
  impl_->shared->tagTtl.store(next.tagTtl);
  if (impl_->evictor) {
    std::uint64_t limit = next.cacheMaxSize != 0 ? next.cacheMaxSize
                                                 : cache::defaultCacheLimit(impl_->options.dataDir);
    impl_->evictor->setLimit(limit);
    // Fills in flight keep what they reserved; new ones are measured against the new limit.
    if (impl_->fillBudget) impl_->fillBudget->setLimit(limit);
    log::cache().info("cache limit {} bytes", limit);
  }
  // The reloadable fields of the options follow, so a later reload compares with what runs.
  auto &o = impl_->options;
  o.logLevel = next.logLevel;
  o.allowClients = next.allowClients;
  o.adminAllow = next.adminAllow;
  o.allowTargets = next.allowTargets;
  o.denyTargets = next.denyTargets;
  o.proxyAuthFile = next.proxyAuthFile;
  o.upstreamAuthFile = next.upstreamAuthFile;
  o.tagTtl = next.tagTtl;
  o.cacheMaxSize = next.cacheMaxSize;
  reloadCa();
  return {};
}

bool Server::drain(std::chrono::milliseconds timeout) {
  if (!impl_->running) return true;
  for (auto &worker : impl_->workers)
    worker->beginDrain();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    bool all = std::all_of(impl_->workers.begin(), impl_->workers.end(),
                           [](const auto &worker) { return worker->drained(); });
    if (all) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void Server::stop() {
  if (!impl_ || !impl_->running) return;
  impl_->running = false;
  impl_->caWatcher->stop();
  if (impl_->evictor) impl_->evictor->stop();
  for (auto &worker : impl_->workers)
    worker->stop();
  for (auto &worker : impl_->workers)
    worker->join();
  impl_->workers.clear();
  impl_->proxyAuthPool.reset();                         // its results have no loop left to go to
  if (impl_->statsFlusher) impl_->statsFlusher->stop(); // after the workers: nothing is lost
  if (impl_->statusSampler) impl_->statusSampler->stop();
  if (impl_->indexWriter) impl_->indexWriter->stop(); // writes what the loops and flusher gave
}

namespace {

// SIGHUP: the configuration again (if there is a reloader), then the CA. A configuration that
// does not load keeps the running one, and says why.
void onHangup(Server &server, const Reloader &reloader) {
  if (!reloader) {
    log::proxy().info("SIGHUP received; reloading the CA");
    server.reloadCa();
    return;
  }
  log::proxy().info("SIGHUP received; reloading the configuration and the CA");
  std::optional<ServerOptions> next;
  try {
    next = reloader();
  } catch (const std::exception &e) {
    log::proxy().error("reload failed, keeping the running configuration: {}", e.what());
    server.reloadCa();
    return;
  }
  if (auto applied = server.reload(*next); !applied.ok()) {
    log::proxy().error("reload failed, keeping the running configuration: {}",
                       applied.failure().detail);
    server.reloadCa();
    return;
  }
  log::proxy().info("configuration reloaded");
}

} // namespace

int runServer(const ServerOptions &options, const Reloader &reloader) {
  log::setup(options.logLevel, options.accessLogPath, options.accessLogFormat == "json");

  // Block the signals before any worker thread exists, so only sigwait below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Server server(options);
  server.start();
  std::string addresses;
  for (const auto &address : server.boundAddresses()) {
    addresses += (addresses.empty() ? "" : ", ") + address.toString();
  }
  log::proxy().info("regcache listening on {} (data dir {})", addresses, options.dataDir.string());

  for (;;) {
    int signal = 0;
    if (sigwait(&signals, &signal) != 0) continue;
    if (signal == SIGHUP) {
      onHangup(server, reloader);
      continue;
    }
    log::proxy().info("signal {} received; draining for up to {} ms, then shutting down", signal,
                      options.drainTimeout.count());
    break;
  }
  auto started = std::chrono::steady_clock::now();
  bool drained = server.drain(options.drainTimeout);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  if (drained) {
    log::proxy().info("drained in {} ms", took.count());
  } else {
    log::proxy().warn("--drain-timeout passed with responses still in flight; cutting them off");
  }
  server.stop();
  return 0;
}

} // namespace regcache::proxy
