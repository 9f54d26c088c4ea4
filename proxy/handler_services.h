#pragma once
// What a request handler may use of the worker it runs on: the options, the metrics, the access
// memo, the cache's store, index writer and fills, and this loop's completion queue and mailbox.
// One per worker; a handler reaches it through ClientSide::services() instead of the whole
// Worker, so what it depends on is written down.
#include <memory>

#include "cache/blob_store.h"
#include "proxy/access/access_memo.h"
#include "proxy/net/loop_mailbox.h"
#include "proxy/observe/metrics.h"
#include "proxy/server_options.h"

namespace regcache::cache {
class FillRegistry;
class IndexWriter;
} // namespace regcache::cache

namespace regcache::proxy {

struct SharedContext;

class HandlerServices {
public:
  HandlerServices(SharedContext &shared, cache::CompletionQueue &completions,
                  std::shared_ptr<net::LoopMailbox> mailbox)
      : shared_(shared), completions_(completions), mailbox_(std::move(mailbox)) {}

  const ServerOptions &options() const;
  Metrics &metrics();
  AccessMemo &accessMemo();
  // The cache's parts, null when the cache is off. Read at each call: the server sets the cache
  // up after it made the workers.
  cache::BlobStore *blobs() const;
  cache::IndexWriter *indexWriter() const;
  cache::FillRegistry *fills() const;
  // Where this loop's store operations complete.
  cache::CompletionQueue &completions() { return completions_; }
  // Where other threads hand work to this loop.
  const std::shared_ptr<net::LoopMailbox> &mailbox() const { return mailbox_; }

private:
  SharedContext &shared_;
  cache::CompletionQueue &completions_;
  std::shared_ptr<net::LoopMailbox> mailbox_;
};

} // namespace regcache::proxy
