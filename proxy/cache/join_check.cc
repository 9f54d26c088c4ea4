#include "proxy/cache/join_check.h"

#include "proxy/forward/registry_head.h"
#include "proxy/handler_services.h"
#include "proxy/http/headers.h"

namespace regcache::proxy {

namespace {
constexpr int kMaxRedirects = 5; // as for the proxy's own fetches

bool isRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}
} // namespace

JoinCheck::JoinCheck(HandlerServices &services, net::Endpoint registry, std::string originTarget,
                     const http::RequestHead &request, std::string digest, bool manifest,
                     Callback callback)
    : services_(services), registry_(std::move(registry)), originTarget_(std::move(originTarget)),
      digest_(std::move(digest)), manifest_(manifest), callback_(std::move(callback)) {
  authorization_ = std::string(request.headers.get("Authorization").value_or(""));
  for (const auto &[name, value] : request.headers.entries()) {
    if (!http::equalsIgnoreCase(name, "Accept")) continue;
    accept_ += (accept_.empty() ? "" : ", ") + value;
  }
}

JoinCheck::~JoinCheck() = default;

void JoinCheck::start() {
  head(http::AbsoluteUrl{
      registry_.tls ? "https" : "http",
      http::HostPort{registry_.host, registry_.port, registry_.host.find(':') != std::string::npos},
      originTarget_});
}

void JoinCheck::head(http::AbsoluteUrl url) {
  http::Headers headers;
  // The client's own credential goes to the registry only (startRegistryHead): storage gets
  // none, as when the proxy follows a fetch's redirect.
  if (!accept_.empty()) headers.add("Accept", accept_);
  headers.add("User-Agent", "regcache (join check)");
  asked_ = url;
  startRegistryHead(services_, request_, std::move(url), registry_, authorization_,
                    std::move(headers),
                    [this](Result<OneShotResponse> answer) { onHead(std::move(answer)); });
}

void JoinCheck::onHead(Result<OneShotResponse> answer) {
  if (!answer.ok()) {
    finish({false, std::nullopt, answer.failure().detail});
    return;
  }
  int status = answer->head.status;
  if (status == 200) {
    auto announced = answer->head.headers.get("Docker-Content-Digest");
    if (announced && *announced != digest_) {
      finish({false, std::nullopt, "upstream's 200 names another digest"});
      return;
    }
    if (redirects_ == 0) {
      finish({true, std::nullopt, "the registry accepted the client"});
      return;
    }
    // Storage names no digest: only the length it announces can be matched to the fill's.
    if (!answer->head.contentLength) {
      finish({false, std::nullopt, "the storage's 200 announces no length"});
      return;
    }
    finish(
        {true, answer->head.contentLength, "the storage the registry sent the client to has it"});
    return;
  }
  // A manifest's redirect never counts (an SSO gateway's login page); a blob's is followed.
  if (!isRedirect(status) || manifest_) {
    finish({false, std::nullopt, "upstream answered " + std::to_string(status)});
    return;
  }
  auto location = answer->head.headers.get("Location");
  if (redirects_ >= kMaxRedirects || !location || location->empty()) {
    finish({false, std::nullopt, "upstream redirected the blob without a usable end"});
    return;
  }
  http::AbsoluteUrl next = asked_;
  if (location->front() == '/') {
    next.pathAndQuery = std::string(*location);
  } else {
    auto url = http::parseAbsoluteUrl(*location);
    if (!url.ok() || (url->scheme != "http" && url->scheme != "https")) {
      finish({false, std::nullopt, "upstream redirected the blob to an unusable location"});
      return;
    }
    next = std::move(url.value());
  }
  ++redirects_;
  head(std::move(next));
}

void JoinCheck::finish(JoinVerdict verdict) {
  if (finished_) return;
  finished_ = true;
  // The request that called back is on the stack: free it on the next loop turn.
  services_.deleteLater(std::move(request_));
  auto callback = std::move(callback_);
  callback(std::move(verdict)); // may free this
}

} // namespace regcache::proxy
