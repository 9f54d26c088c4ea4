#include "proxy/observe/admin.h"

#include <openssl/evp.h>

#include <cstdio>
#include <ctime>

#include "base/time_format.h"
#include "ca/authority.h"
#include "ca/leaf_cache.h"
#include "cache/index_view.h"
#include "cache/tiered_blob_store.h"
#include "proxy/handler_services.h"
#include "proxy/observe/bucket_metrics.h"
#include "proxy/observe/status_report.h"

namespace regcache::proxy {

std::string strongEtag(std::string_view content) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(content.data(), content.size(), digest, &length, EVP_sha256(), nullptr);
  std::string out = "\"";
  char hex[3];
  for (unsigned int i = 0; i < length; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", digest[i]);
    out += hex;
  }
  return out + "\"";
}

std::string httpDate(std::chrono::system_clock::time_point time) {
  return formatUtcTime(time, "%a, %d %b %Y %H:%M:%S GMT");
}

namespace {

std::string jsonString(const std::string &text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out + "\"";
}

} // namespace

std::string AdminEndpoint::catalogJson() {
  // Like the distribution registry's catalog, but across registries: "host[:port]/name".
  std::string json = "{\"repositories\":[";
  if (const cache::IndexView *view = client_.services().indexView()) {
    std::vector<std::string> names = view->listRepositories(!admin_);
    for (std::size_t i = 0; i < names.size(); ++i) {
      json += (i == 0 ? "" : ",") + jsonString(names[i]);
    }
  }
  return json + "]}\n";
}

std::string AdminEndpoint::metricsText() {
  std::string text = client_.services().metrics().renderPrometheus();
  const cache::IndexView *view = client_.services().indexView();
  if (view == nullptr) return text;
  cache::CacheTotals totals = view->totals();
  text += "# HELP regcache_cache_blobs Blobs and manifests stored.\n"
          "# TYPE regcache_cache_blobs gauge\n"
          "regcache_cache_blobs " +
          std::to_string(totals.blobs) +
          "\n"
          "# HELP regcache_cache_bytes Bytes stored in blobs/.\n"
          "# TYPE regcache_cache_bytes gauge\n"
          "regcache_cache_bytes " +
          std::to_string(totals.bytes) + "\n";
  if (const cache::TieredBlobStore *tiered = client_.services().tiered()) {
    text += renderBucketMetrics(tiered->counters(), client_.services().bucketStats());
  }
  return text;
}

bool isOpenAdminPath(std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  return path == "/ca.crt" || path == "/healthz";
}

AdminEndpoint::AdminEndpoint(ClientSide &client, http::RequestHead request, bool admin)
    : client_(client), request_(std::move(request)), admin_(admin) {
  record_ = startAccessRecord(client_, request_.method, "-", request_.target);
}

void AdminEndpoint::start() {
  std::string_view path = request_.target;
  path = path.substr(0, path.find('?'));
  bool readOnly = request_.method == "GET" || request_.method == "HEAD";
  bool catalogForAll = path == "/v2/_catalog" && client_.services().options().publicCatalog;
  if (!admin_ && !isOpenAdminPath(path) && !catalogForAll) {
    // 403, not 401 or 407: the client is known (its address, its proxy user) and not an admin.
    // No challenge is offered, so browsers and scrapers do not loop on credentials.
    record_.note = "refused: not an admin client";
    respond(403, "text/plain; charset=utf-8",
            "regcache: " + std::string(path) +
                " is for admin clients (--admin-allow, or a proxy user marked admin)\n");
    return;
  }
  if (path == "/healthz" && readOnly) {
    // Date: `regcache doctor` compares a VM's clock with the proxy's (leaves have validity).
    http::Headers extra;
    extra.add("Date", httpDate(std::chrono::system_clock::now()));
    respond(200, "text/plain; charset=utf-8", "ok\n", extra);
  } else if (path == "/ca.crt" && readOnly) {
    auto authority = client_.services().leaves().authority();
    const std::string &bundle = authority->bundlePem();
    std::string etag = strongEtag(bundle);
    http::Headers extra;
    extra.add("ETag", etag);
    extra.add("Last-Modified", httpDate(authority->bundleChangedAt()));
    extra.add("Cache-Control", "no-cache");
    auto ifNoneMatch = request_.headers.get("If-None-Match");
    if (ifNoneMatch && *ifNoneMatch == etag) {
      respond(304, {}, {}, std::move(extra));
    } else {
      respond(200, "application/x-pem-file", bundle, std::move(extra));
    }
  } else if (path == "/v2/_catalog" && readOnly) {
    respond(200, "application/json; charset=utf-8", catalogJson());
  } else if ((path == "/" || path == "/status.json") && readOnly) {
    auto report =
        gatherStatus(client_.services().statusSources(), std::chrono::system_clock::now());
    http::Headers extra;
    extra.add("Cache-Control", "no-store");
    // The page is self-contained: nothing from elsewhere, no framing by other sites.
    extra.add("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; "
                                         "style-src 'unsafe-inline'; connect-src 'self'; "
                                         "img-src 'self'; frame-ancestors 'none'");
    if (path == "/") {
      respond(200, "text/html; charset=utf-8", renderStatusHtml(report), std::move(extra));
    } else {
      respond(200, "application/json; charset=utf-8", renderStatusJson(report), std::move(extra));
    }
  } else if (path == "/metrics" && readOnly) {
    respond(200, "text/plain; version=0.0.4; charset=utf-8", metricsText());
  } else if (path == "/ca.crt" || path == "/healthz" || path == "/metrics") {
    respond(405, "text/plain; charset=utf-8", "method not allowed\n");
  } else {
    respond(404, "text/plain; charset=utf-8",
            "not found: this is regcache; use it as an HTTP(S) proxy\n");
  }
}

void AdminEndpoint::respond(int status, std::string_view contentType, const std::string &body,
                            http::Headers extra) {
  http::ResponseHead head;
  head.status = status;
  head.reason = std::string(http::reasonPhrase(status));
  head.headers = std::move(extra);
  if (!contentType.empty()) head.headers.add("Content-Type", std::string(contentType));
  if (status != 304) head.headers.add("Content-Length", std::to_string(body.size()));
  if (!request_.keepAlive) head.headers.add("Connection", "close");
  std::string serialized = http::serializeResponseHead(head);
  evbuffer *out = client_.clientOutput();
  evbuffer_add(out, serialized.data(), serialized.size());
  bool sendBody = request_.method != "HEAD" && status != 304;
  if (sendBody) evbuffer_add(out, body.data(), body.size());
  record_.status = status;
  record_.bytesSent = sendBody ? body.size() : 0;
  completeRequest(client_.services().metrics(), record_);
  client_.onResponseComplete(true);
}

} // namespace regcache::proxy
