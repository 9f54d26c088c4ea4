#pragma once
// What a request handler may use of the worker it runs on, and nothing else of it: the options,
// the metrics and memos, the cache's parts, this loop's event base, resolver, upstream pool,
// completion queue and mailbox, and the places where work that outlives a client (fills,
// probes) is kept. The Worker implements it (proxy/worker.h); handlers in every folder take it
// (through ClientSide::services(), or given at construction), so what they depend on is written
// down and none of them links against the Worker.
//
// Header only and abstract: the folder libraries include it without linking the root. All calls
// are for the worker's loop thread unless a comment says otherwise.
#include <chrono>
#include <memory>
#include <string>

#include "proxy/access/access_memo.h"
#include "proxy/net/connector.h"
#include "proxy/net/loop_mailbox.h"
#include "proxy/observe/metrics.h"
#include "proxy/observe/status_report.h"
#include "proxy/server_options.h"

struct event_base;

namespace regcache::ca {
class LeafCache;
}
namespace regcache::cache {
class BlobStore;
class CompletionQueue;
class FillBudget;
class FillRegistry;
class IndexView;
class IndexWriter;
class TieredBlobStore;
namespace s3 {
struct S3Stats;
}
} // namespace regcache::cache
namespace regcache::net {
class Resolver;
}
namespace regcache::proxy {
namespace upstream_auth {
class Credentials;
class TokenCache;
} // namespace upstream_auth
class Fill;
class PublicProbe;
class PublicRepositories;
class UpstreamPool;
} // namespace regcache::proxy

namespace regcache::proxy {

class HandlerServices {
public:
  virtual ~HandlerServices() = default;

  // Immutable after start-up.
  virtual const ServerOptions &options() const = 0;
  // Thread-safe counters (/metrics).
  virtual Metrics &metrics() = 0;
  // Upstream's recent yes to a credential for a repository. Thread-safe.
  virtual AccessMemo &accessMemo() = 0;
  // --tag-ttl as it is now (SIGHUP may change it): read once per decision.
  virtual std::chrono::milliseconds tagTtl() const = 0;

  // The cache. True when it is on: then blobs(), indexView() and indexWriter() are not null.
  virtual bool cacheEnabled() const = 0;
  // The cache's parts, null when the cache is off. Read at each call: the server sets the cache
  // up after it made the workers.
  virtual cache::BlobStore *blobs() const = 0;
  virtual const cache::IndexView *indexView() const = 0;
  virtual cache::IndexWriter *indexWriter() const = 0;
  virtual cache::FillRegistry *fills() const = 0;
  // Bytes announced by fills in flight, against --cache-max-size; null when the cache is off.
  virtual cache::FillBudget *fillBudget() const = 0;
  // The fleet's store (this host's disk in front of a shared bucket); null without --store.
  virtual cache::TieredBlobStore *tiered() const = 0;
  // The bucket's request counters; null without an S3 --store.
  virtual const cache::s3::S3Stats *bucketStats() const = 0;
  // Repositories upstream lets anyone read (PublicProbe). Thread-safe.
  virtual PublicRepositories &publicRepositories() = 0;
  // Where this loop's store operations complete.
  virtual cache::CompletionQueue &completions() = 0;

  // This loop's event base, resolver and pool of keep-alive connections to upstreams.
  virtual event_base *base() = 0;
  virtual net::Resolver &resolver() = 0;
  virtual UpstreamPool &pool() = 0;
  // How to connect to `host` upstream: the options' timeouts, the target policy judging every
  // resolved address (or, through --upstream-proxy, the name), and the upstream TLS context.
  virtual net::ConnectSettings upstreamConnectSettings(const std::string &host) const = 0;
  // Where other threads hand work to this loop. Closed when the worker goes, so a late result
  // is dropped.
  virtual const std::shared_ptr<net::LoopMailbox> &mailbox() const = 0;
  // --upstream-auth: the operator's accounts as they are now (null: none), and the tokens they
  // obtained. Both thread-safe.
  virtual std::shared_ptr<const upstream_auth::Credentials> upstreamCredentials() const = 0;
  virtual upstream_auth::TokenCache &upstreamTokens() = 0;

  // The leaf certificates and their authority (the admin endpoints show the CA).
  virtual ca::LeafCache &leaves() = 0;
  // What the status page reads (proxy/observe/status_report.h).
  virtual StatusSources statusSources() = 0;

  // Frees `object` on the next loop turn, so code on the stack that belongs to it can unwind.
  template <class T> void deleteLater(std::unique_ptr<T> object) {
    if (object) bury(std::shared_ptr<void>(std::move(object)));
  }
  // Keeps a fill (and the fetch it owns) until it calls endFill(): a fill belongs to the
  // process, not to a client. Freed with the worker if it never does.
  virtual void keepFill(std::unique_ptr<Fill> fill) = 0;
  virtual void endFill(Fill *fill) = 0;
  // Keeps a probe of upstream running until it calls endProbe(); freed with the worker if not.
  virtual void startProbe(std::unique_ptr<PublicProbe> probe) = 0;
  virtual void endProbe(PublicProbe *probe) = 0;

protected:
  // deleteLater's type-erased half: keeps `object` until the next loop turn.
  virtual void bury(std::shared_ptr<void> object) = 0;
};

} // namespace regcache::proxy
