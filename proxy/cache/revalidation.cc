#include "proxy/cache/revalidation.h"

#include "base/log.h"
#include "base/oci/digest.h"
#include "cache/index_writer.h"
#include "proxy/cache/cache_handler.h"
#include "proxy/cache/public_probe.h"
#include "proxy/handler_services.h"
#include "proxy/http/target.h"

namespace regcache::proxy {

bool upstreamConfirms(const CacheCandidate &candidate, const http::ResponseHead &head,
                      int redirects) {
  auto announced = head.headers.get("Docker-Content-Digest");
  bool sameDigest = announced && *announced == candidate.blob.digest;
  return head.status == 200 && (candidate.tag ? sameDigest : !announced || sameDigest) &&
         (redirects == 0 || head.contentLength == candidate.blob.size);
}

void recordConfirmation(HandlerServices &services, const CacheCandidate &candidate,
                        const net::Endpoint &registryEndpoint) {
  std::string registry =
      http::registryKey(http::HostPort{registryEndpoint.host, registryEndpoint.port,
                                       registryEndpoint.host.find(':') != std::string::npos},
                        registryEndpoint.tls);
  if (!candidate.credential.empty()) {
    services.accessMemo().remember(candidate.credential, registry, candidate.repository);
  }
  // From the bucket: indexed once the local tier holds it verified (indexFromBucket), not now.
  if (candidate.fromBucket) return;
  // Upstream has it under this repository (for anyone, without credentials): later requests here
  // need no HEAD.
  services.indexWriter()->addSource(
      candidate.blob,
      cache::BlobSource{registry, candidate.repository, candidate.credential.empty()});
  if (!candidate.credential.empty()) {
    noteCredentialedFetch(services, registryEndpoint, registry, candidate.repository,
                          candidate.blob);
  }
  if (!candidate.tag) return;
  cache::TagRecord tag = *candidate.tag;
  tag.checkedAt = std::chrono::system_clock::now();
  services.indexWriter()->putTag(tag);
}

bool learnTagFromHead(HandlerServices &services, cache::TagRecord tag,
                      const http::ResponseHead &head, const std::string &logPrefix) {
  auto announced = head.headers.get("Docker-Content-Digest");
  auto digest = announced ? oci::parseDigest(*announced) : std::nullopt;
  auto mediaType = head.headers.get("Content-Type");
  if (!digest || !mediaType) return false;
  tag.digest = digest->toString();
  tag.mediaType = std::string(*mediaType);
  tag.checkedAt = std::chrono::system_clock::now();
  services.indexWriter()->putTag(tag);
  log::cache().debug("{} learned {}:{} -> {} from upstream's HEAD", logPrefix, tag.repository,
                     tag.tag, tag.digest);
  return true;
}

std::unique_ptr<RequestHandler> serveCandidate(ClientSide &client, http::RequestHead request,
                                               CacheCandidate &candidate, std::string host,
                                               std::string xCache, std::string note) {
  return std::make_unique<CacheHandler>(client, std::move(request), candidate.blob,
                                        std::move(*candidate.reader), std::move(host),
                                        std::move(xCache), std::move(note));
}

} // namespace regcache::proxy
