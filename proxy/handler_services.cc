#include "proxy/handler_services.h"

#include "proxy/shared_context.h"

namespace regcache::proxy {

const ServerOptions &HandlerServices::options() const { return shared_.options; }
Metrics &HandlerServices::metrics() { return shared_.metrics; }
AccessMemo &HandlerServices::accessMemo() { return shared_.accessMemo; }
cache::BlobStore *HandlerServices::blobs() const { return shared_.blobs; }
cache::IndexWriter *HandlerServices::indexWriter() const { return shared_.indexWriter; }
cache::FillRegistry *HandlerServices::fills() const { return shared_.fills; }

} // namespace regcache::proxy
