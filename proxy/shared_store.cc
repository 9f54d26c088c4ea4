#include "proxy/shared_store.h"

#include <stdexcept>

namespace regcache::proxy {

std::shared_ptr<cache::BlobStore> makeSharedStore(const ServerOptions &options) {
  if (options.sharedStoreForTests) return options.sharedStoreForTests;
  if (!options.s3Store) return nullptr;
  // The S3-API store (cache/s3) is wired here once it exists on this branch.
  throw std::runtime_error("--store s3:// is not supported by this build yet");
}

} // namespace regcache::proxy
