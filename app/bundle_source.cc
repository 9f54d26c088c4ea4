#include "app/bundle_source.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "base/openssl_errors.h"
#include "base/openssl_handles.h"
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

namespace {

bool isIpLiteral(const std::string &host) {
  unsigned char address[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, host.c_str(), address) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), address) == 1;
}

// One blocking connection, plain or TLS; the socket timeouts bound every read and write.
class Channel {
public:
  explicit Channel(UniqueFd fd) : fd_(std::move(fd)) {}

  // A TLS client handshake verifying `host` against the system roots plus `caFile`.
  void startTls(const std::string &host, const std::filesystem::path &caFile,
                const std::string &url) {
    ctx_.reset(SSL_CTX_new(TLS_client_method()));
    if (!ctx_ || SSL_CTX_set_default_verify_paths(ctx_.get()) != 1) {
      throw std::runtime_error("TLS set-up: " + drainOpensslErrors("SSL_CTX_new"));
    }
    if (!caFile.empty() &&
        SSL_CTX_load_verify_locations(ctx_.get(), caFile.c_str(), nullptr) != 1) {
      throw std::runtime_error("cannot load --ca-file " + caFile.string() + ": " +
                               drainOpensslErrors());
    }
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_min_proto_version(ctx_.get(), TLS1_2_VERSION);
    ssl_.reset(SSL_new(ctx_.get()));
    if (!ssl_ || SSL_set_fd(ssl_.get(), fd_.get()) != 1) {
      throw std::runtime_error("TLS set-up: " + drainOpensslErrors("SSL_new"));
    }
    // A name is checked against the DNS SANs and sent as SNI; an IP literal against the IP SANs.
    bool named = isIpLiteral(host)
                     ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_.get()), host.c_str()) == 1
                     : SSL_set1_host(ssl_.get(), host.c_str()) == 1 &&
                           SSL_set_tlsext_host_name(ssl_.get(), host.c_str()) == 1;
    if (!named) throw std::runtime_error("TLS set-up for " + host + ": " + drainOpensslErrors());
    ERR_clear_error();
    if (SSL_connect(ssl_.get()) != 1) {
      long verify = SSL_get_verify_result(ssl_.get());
      std::string reason = verify != X509_V_OK ? X509_verify_cert_error_string(verify)
                                               : drainOpensslErrors("handshake failed");
      throw std::runtime_error("TLS handshake with " + url + ": " + reason);
    }
  }

  bool sendAll(const std::string &data) {
    if (ssl_)
      return SSL_write(ssl_.get(), data.data(), static_cast<int>(data.size())) ==
             static_cast<int>(data.size());
    return ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(data.size());
  }

  // Bytes read; 0 at the end of the stream; -1 on an error or a timeout.
  ssize_t receive(char *buf, std::size_t size) {
    if (!ssl_) return ::recv(fd_.get(), buf, size, 0);
    int n = SSL_read(ssl_.get(), buf, static_cast<int>(size));
    if (n > 0) return n;
    return SSL_get_error(ssl_.get(), n) == SSL_ERROR_ZERO_RETURN ? 0 : -1;
  }

private:
  UniqueFd fd_;
  SslCtxPtr ctx_;
  SslPtr ssl_; // freed before ctx_ and fd_ (members are destroyed in reverse order)
};

UniqueFd connectTo(const proxy::http::HostPort &authority, const std::string &url) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo *addresses = nullptr;
  std::string port = std::to_string(authority.port);
  if (int rc = ::getaddrinfo(authority.host.c_str(), port.c_str(), &hints, &addresses); rc != 0) {
    throw std::runtime_error("cannot resolve " + authority.host + ": " + gai_strerror(rc));
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
  return fd;
}

} // namespace

std::string fetchBundle(const std::string &url, const std::filesystem::path &caFile) {
  auto parsed = proxy::http::parseAbsoluteUrl(url);
  if (!parsed.ok() || (parsed->scheme != "http" && parsed->scheme != "https")) {
    throw std::runtime_error("--bundle-url must be an http:// or https:// URL, like "
                             "http://proxy:3128/ca.crt");
  }
  bool tls = parsed->scheme == "https";
  Channel channel(connectTo(parsed->authority, url));
  if (tls) channel.startTls(parsed->authority.host, caFile, url);

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
