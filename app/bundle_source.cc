#include "app/bundle_source.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "base/blocking/channel.h"
#include "proxy/http/parser.h"
#include "proxy/http/target.h"

namespace regcache::app {
using blocking::Channel;
using blocking::connectChannel;
namespace {

void requireCertificate(const std::string &pem, const std::string &from) {
  if (pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    throw std::runtime_error("no certificate in " + from);
  }
}

struct BodyCollector : proxy::http::ResponseSink {
  int status = 0;
  std::string body;
  bool done = false;
  void onResponseHead(proxy::http::ResponseHead &&head) override { status = head.status; }
  void onResponseBody(std::string_view data) override { body.append(data); }
  void onResponseEnd() override { done = true; }
};

} // namespace

std::string readBundleFile(const std::filesystem::path &path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  requireCertificate(text.str(), path.string());
  return text.str();
}

std::string fetchBundle(const std::string &url, const std::filesystem::path &caFile) {
  auto parsed = proxy::http::parseAbsoluteUrl(url);
  if (!parsed.ok() || (parsed->scheme != "http" && parsed->scheme != "https")) {
    throw std::runtime_error("--bundle-url must be an http:// or https:// URL, like "
                             "http://proxy:3128/ca.crt");
  }
  bool tls = parsed->scheme == "https";
  auto connected = connectChannel(parsed->authority, url);
  if (!connected) throw std::runtime_error(connected.failure().detail);
  Channel &channel = *connected;
  if (tls) {
    if (auto started = channel.startTls(parsed->authority.host, caFile, url); !started) {
      throw std::runtime_error(started.failure().detail);
    }
  }

  std::string request = "GET " + parsed->pathAndQuery + " HTTP/1.1\r\nHost: " +
                        proxy::http::formatAuthority(parsed->authority, tls ? 443 : 80) +
                        "\r\nConnection: close\r\nUser-Agent: regcache-ca-install\r\n\r\n";
  if (!channel.sendAll(request)) throw std::runtime_error("cannot send the request to " + url);
  BodyCollector collector;
  proxy::http::ResponseParser parser(proxy::http::Limits{}, collector);
  parser.expectResponseTo("GET");
  char buf[16384];
  while (!collector.done) {
    ssize_t n = channel.receive(buf, sizeof buf);
    if (n < 0) throw std::runtime_error("error or timeout reading " + url);
    if (n == 0) {
      if (!parser.finishOnEof()) throw std::runtime_error("truncated answer from " + url);
      break;
    }
    auto result = parser.feed(std::string_view(buf, static_cast<std::size_t>(n)));
    if (result.status == proxy::http::ParseStatus::kError) {
      throw std::runtime_error("malformed answer from " + url);
    }
    if (collector.body.size() > (4u << 20)) throw std::runtime_error("bundle too large at " + url);
  }
  if (collector.status != 200) {
    throw std::runtime_error(url + " answered " + std::to_string(collector.status));
  }
  requireCertificate(collector.body, url);
  return collector.body;
}

} // namespace regcache::app
