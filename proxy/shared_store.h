#pragma once
// The fleet's shared blob store from the options (docs/fleet.md): the one tests hand in, or the
// S3-API bucket --store names. Start-up only.
#include <functional>
#include <memory>

#include "cache/blob_store.h"
#include "cache/s3/s3_client.h"
#include "proxy/server_options.h"

namespace regcache::proxy {

struct SharedStore {
  std::shared_ptr<cache::BlobStore> store; // null without --store
  // Records that the fleet used a blob, for `regcache store gc` (the S3 store's markers); empty
  // when the store keeps no such record.
  std::function<void(const cache::Digest &)> markUsed;
  const cache::s3::S3Stats *s3Stats = nullptr; // the S3 store's request counters, for /metrics
};

// Throws std::runtime_error (or std::invalid_argument) when the store named cannot be opened:
// the caller then runs with the local disk alone, since the cache never fails a pull.
SharedStore makeSharedStore(const ServerOptions &options);

} // namespace regcache::proxy
