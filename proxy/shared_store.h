#pragma once
// The fleet's shared blob store from the options (docs/fleet.md): the one tests hand in, or the
// S3-API bucket --store names. Start-up only.
#include <memory>

#include "cache/blob_store.h"
#include "proxy/server_options.h"

namespace regcache::proxy {

// Null without --store. Throws std::runtime_error when the store named cannot be opened (the
// caller then runs with the local disk alone: the cache never fails a pull).
std::shared_ptr<cache::BlobStore> makeSharedStore(const ServerOptions &options);

} // namespace regcache::proxy
