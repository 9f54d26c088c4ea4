#pragma once
// The fleet's shared store on a local miss (docs/fleet.md): before a blob GET goes upstream, ask
// the bucket (a stat, bounded by --store-timeout) whether some host of the fleet already
// verified and uploaded it. The bucket saves the transfer, never the access decision: a blob it
// has becomes a cache candidate like content this host never served under the (registry,
// repository) asked for, so the Exchange first sends upstream a HEAD with the client's own
// headers, and only upstream's 200 (naming this digest, if it names one) lets the bucket's bytes
// out; anything else forwards the request and the client gets upstream's own answer. The bytes
// are hashed as they stream (VerifyingReader) and the index row is written once the local tier
// holds them verified.
//
// A bucket that is down, slow or without the blob only means a normal miss: `withoutBucket`
// dispatches the request again as if there were no bucket.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/event_handles.h"
#include "base/oci/digest.h"
#include "cache/index.h"
#include "proxy/access/access_memo.h"
#include "proxy/http/message.h"
#include "proxy/http/target.h"
#include "proxy/net/connector.h"
#include "proxy/request_handler.h"

namespace regcache::proxy {

class HandlerServices;

// What decideCache hands over when the bucket is worth asking.
struct BucketQuery {
  oci::Digest digest;
  std::string registry;   // the registry key (http::registryKey)
  std::string repository; // asked under
  Credential credential;  // the client's Authorization; empty: none
};

// What a client served a blob from the bucket leaves behind, run (on `worker`'s loop) once the
// local tier holds the verified blob, before its last bytes go out: the index row with the
// source upstream confirmed, so eviction and later hits work; and, for content fetched with
// credentials, the public probe as after any credentialed fetch.
std::function<void()> indexFromBucket(HandlerServices &services, cache::BlobRecord blob,
                                      cache::BlobSource source, net::Endpoint registry,
                                      bool credentialed);

// Whether --store-registries lets `registry` be served from the bucket: "*" (every registry),
// "host[:port]" (port 443 when none is given; "docker.io" is registry-1.docker.io) or
// "*.domain[:port]", case-insensitive. An empty list serves none.
bool bucketServesRegistry(const std::vector<std::string> &allowed, const http::HostPort &registry);

class BucketLookup final : public RequestHandler {
public:
  // `endpoint`, `originTarget` and `mirror` are what the Exchange for this request would get.
  // `withoutBucket` runs at most once, on the loop, never inside start(): it must replace this
  // handler (ClientSide::replaceHandler) with the request's normal dispatch.
  BucketLookup(ClientSide &client, http::RequestHead request, net::Endpoint endpoint,
               std::string originTarget, bool mirror, BucketQuery query,
               std::function<void()> withoutBucket);
  ~BucketLookup() override;
  void start() override;
  void onRequestBody(std::string_view) override {}
  void onRequestEnd() override {}
  void onClientClosed() override;

private:
  static void onTimeout(evutil_socket_t, short, void *arg) noexcept;
  void onStat(bool found, std::uint64_t size, const std::string &why);
  void serveCandidate(std::uint64_t size);
  void fallBack(const std::string &why);

  ClientSide &client_;
  http::RequestHead request_;
  net::Endpoint endpoint_;
  std::string originTarget_;
  bool mirror_;
  BucketQuery query_;
  std::function<void()> withoutBucket_;
  EventPtr timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool answered_ = false; // the stat answered, timed out, or the client left
};

} // namespace regcache::proxy
