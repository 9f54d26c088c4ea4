#pragma once
// A registry's /v2/ API as a pulling client sees it, for cache warm: anonymous bearer tokens
// (401 with a Bearer challenge: GET the realm's token, retry once), and redirects (a blob
// served from a CDN). Safe to use from several threads: only the token table is shared.
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "app/http_get.h"
#include "app/image_reference.h"
#include "base/result.h"

namespace regcache::app {

class RegistryClient {
public:
  explicit RegistryClient(HttpGetSettings settings) : settings_(std::move(settings)) {}

  // GET https://ENDPOINT/v2/REPOSITORY/`kind`/`reference` (kind "manifests" or "blobs") with
  // `accept` when not empty. Keeps up to `keepBody` bytes of the body and stops with kTooLarge
  // past `maxBody` (a hostile registry's endless body ends there); `onBytes` hears of each
  // chunk. Follows up to 5 redirects, dropping the token when the host changes. Fails unless
  // the final answer is 200; the detail names the status.
  Result<HttpGetResponse> get(const ImageReference &image, const std::string &kind,
                              const std::string &reference, const std::string &accept,
                              std::size_t keepBody, std::uint64_t maxBody,
                              const std::function<void(std::uint64_t)> &onBytes = {});

private:
  std::string tokenFor(const std::string &scopeKey);
  Result<std::string> fetchToken(const std::string &challenge, const std::string &scope);

  HttpGetSettings settings_;
  std::mutex mutex_;
  std::map<std::string, std::string> tokens_; // "endpoint repository" -> "Bearer ..."
};

} // namespace regcache::app
