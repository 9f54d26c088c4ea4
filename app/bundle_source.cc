#include "app/bundle_source.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "base/unique_fd.h"
#include "proxy/http/parser.h"
#include "proxy/http/target.h"

namespace regcache::app {
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

std::string fetchBundle(const std::string &url) {
  auto parsed = proxy::http::parseAbsoluteUrl(url);
  if (!parsed.ok() || parsed->scheme != "http") {
    throw std::runtime_error("--bundle-url must be an http:// URL, like http://proxy:3128/ca.crt");
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo *addresses = nullptr;
  std::string port = std::to_string(parsed->authority.port);
  if (int rc = ::getaddrinfo(parsed->authority.host.c_str(), port.c_str(), &hints, &addresses);
      rc != 0) {
    throw std::runtime_error("cannot resolve " + parsed->authority.host + ": " + gai_strerror(rc));
  }
  UniqueFd fd;
  for (addrinfo *a = addresses; a != nullptr && !fd; a = a->ai_next) {
    UniqueFd candidate(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, 0));
    timeval timeout{10, 0};
    ::setsockopt(candidate.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(candidate.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    if (candidate && ::connect(candidate.get(), a->ai_addr, a->ai_addrlen) == 0) {
      fd = std::move(candidate);
    }
  }
  ::freeaddrinfo(addresses);
  if (!fd) throw std::runtime_error("cannot connect to " + url);

  std::string request = "GET " + parsed->pathAndQuery + " HTTP/1.1\r\nHost: " +
                        proxy::http::formatAuthority(parsed->authority, 80) +
                        "\r\nConnection: close\r\nUser-Agent: regcache-ca-install\r\n\r\n";
  if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    throw std::runtime_error("cannot send the request to " + url);
  }
  BodyCollector collector;
  proxy::http::ResponseParser parser(proxy::http::Limits{}, collector);
  parser.expectResponseTo("GET");
  char buf[16384];
  while (!collector.done) {
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0) throw std::runtime_error("timed out reading " + url);
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
