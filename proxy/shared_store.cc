#include "proxy/shared_store.h"

#include "cache/s3/s3_blob_store.h"

namespace regcache::proxy {

SharedStore makeSharedStore(const ServerOptions &options) {
  SharedStore shared;
  if (options.sharedStoreForTests) {
    shared.store = options.sharedStoreForTests;
    return shared;
  }
  if (!options.s3Store) return shared;
  auto s3 = std::make_shared<cache::s3::S3BlobStore>(*options.s3Store);
  // The store outlives the tiered store that calls this (both held by the server).
  cache::s3::S3BlobStore *raw = s3.get();
  shared.markUsed = [raw](const cache::Digest &digest) { raw->markUsed(digest); };
  shared.s3Stats = &s3->stats();
  shared.store = std::move(s3);
  return shared;
}

} // namespace regcache::proxy
