#include "app/http_get.h"

#include "base/blocking/channel.h"
#include "proxy/http/parser.h"

namespace regcache::app {
using blocking::Channel;
using blocking::connectChannel;
namespace {

struct Collector : proxy::http::ResponseSink {
  HttpGetResponse response;
  std::size_t keepBody = 0;
  std::uint64_t maxBody = 0;
  const std::function<void(std::uint64_t)> *onBytes = nullptr;
  bool done = false;
  bool tooLarge = false;
  void onResponseHead(proxy::http::ResponseHead &&head) override {
    if (head.status < 200) return; // 1xx: the real head follows
    response.status = head.status;
    response.headers = std::move(head.headers);
  }
  void onResponseBody(std::string_view data) override {
    response.bodyBytes += data.size();
    if (response.bodyBytes > maxBody) tooLarge = true;
    if (response.body.size() < keepBody) {
      response.body.append(data.substr(0, keepBody - response.body.size()));
    }
    if (*onBytes) (*onBytes)(data.size());
  }
  void onResponseEnd() override { done = true; }
};

} // namespace

Result<HttpGetResponse> httpGet(const HttpGetSettings &settings,
                                const proxy::http::AbsoluteUrl &url,
                                const proxy::http::Headers &headers, std::size_t keepBody,
                                std::uint64_t maxBody,
                                const std::function<void(std::uint64_t)> &onBytes) {
  bool tls = url.scheme == "https";
  if (!tls && url.scheme != "http") return fail(Error::kInvalidInput, "not an http(s) URL");
  std::string authority = proxy::http::formatAuthority(url.authority, tls ? 443 : 80);
  std::string what = url.scheme + "://" + authority;
  auto connected =
      settings.proxy
          ? connectChannel(*settings.proxy,
                           "the proxy at " + proxy::http::formatAuthority(*settings.proxy),
                           settings.timeout)
          : connectChannel(url.authority, what, settings.timeout);
  if (!connected) return connected.failure();
  Channel &channel = *connected;
  // Plain http through the proxy is tunnelled as well: one code path, and the proxy sees the
  // same CONNECT a registry client sends.
  if (settings.proxy) {
    if (auto tunnel = channel.openTunnel(url.authority, settings.proxyAuthorization); !tunnel)
      return tunnel.failure();
  }
  if (tls) {
    if (auto started = channel.startTls(url.authority.host, settings.caFile, what); !started) {
      return started.failure();
    }
  }
  std::string request = "GET " + url.pathAndQuery + " HTTP/1.1\r\nHost: " + authority +
                        "\r\nUser-Agent: regcache-cache-warm\r\nConnection: close\r\n";
  for (const auto &[name, value] : headers.entries())
    request += name + ": " + value + "\r\n";
  request += "\r\n";
  if (!channel.sendAll(request)) return fail(Error::kIo, "cannot send the request to " + what);

  Collector collector;
  collector.keepBody = keepBody;
  collector.maxBody = maxBody;
  collector.onBytes = &onBytes;
  proxy::http::ResponseParser parser(proxy::http::Limits{}, collector);
  parser.expectResponseTo("GET");
  std::string buffer(64 * 1024, '\0');
  while (!collector.done) {
    ssize_t n = channel.receive(buffer.data(), buffer.size());
    if (n < 0) return fail(Error::kTimeout, "error or timeout reading from " + what);
    if (n == 0) {
      if (!parser.finishOnEof()) return fail(Error::kUpstream, "truncated answer from " + what);
      break;
    }
    auto fed = parser.feed(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    if (fed.status == proxy::http::ParseStatus::kError) {
      return fail(Error::kUpstream, "malformed answer from " + what);
    }
    if (collector.tooLarge) return fail(Error::kTooLarge, "answer too large from " + what);
  }
  return std::move(collector.response);
}

} // namespace regcache::app
