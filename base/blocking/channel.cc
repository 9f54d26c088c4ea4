#include "base/blocking/channel.h"

#include <poll.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "base/openssl_errors.h"
#include "proxy/http/parser.h"

namespace regcache::blocking {
namespace {

bool isIpLiteral(const std::string &host) {
  unsigned char address[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, host.c_str(), address) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), address) == 1;
}

// Reads the proxy's answer to CONNECT: a head and nothing else.
struct ConnectAnswer : proxy::http::ResponseSink {
  int status = 0;
  void onResponseHead(proxy::http::ResponseHead &&head) override {
    if (head.status >= 200) status = head.status;
  }
  void onResponseBody(std::string_view) override {}
  void onResponseEnd() override {}
};

} // namespace

Result<void> Channel::startTls(const std::string &host, const std::filesystem::path &caFile,
                               const std::string &what) {
  std::vector<std::filesystem::path> caFiles;
  if (!caFile.empty()) caFiles.push_back(caFile);
  return startTls(host, caFiles, what);
}

Result<void> Channel::startTls(const std::string &host,
                               const std::vector<std::filesystem::path> &caFiles,
                               const std::string &what) {
  ctx_.reset(SSL_CTX_new(TLS_client_method()));
  if (!ctx_ || SSL_CTX_set_default_verify_paths(ctx_.get()) != 1) {
    return fail(Error::kTls, "TLS set-up: " + drainOpensslErrors("SSL_CTX_new"));
  }
  for (const auto &caFile : caFiles) {
    if (SSL_CTX_load_verify_locations(ctx_.get(), caFile.c_str(), nullptr) != 1) {
      return fail(Error::kTls, "cannot load " + caFile.string() + ": " + drainOpensslErrors());
    }
  }
  SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_min_proto_version(ctx_.get(), TLS1_2_VERSION);
  ssl_.reset(SSL_new(ctx_.get()));
  if (!ssl_ || SSL_set_fd(ssl_.get(), fd_.get()) != 1) {
    return fail(Error::kTls, "TLS set-up: " + drainOpensslErrors("SSL_new"));
  }
  bool named = isIpLiteral(host)
                   ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_.get()), host.c_str()) == 1
                   : SSL_set1_host(ssl_.get(), host.c_str()) == 1 &&
                         SSL_set_tlsext_host_name(ssl_.get(), host.c_str()) == 1;
  if (!named) return fail(Error::kTls, "TLS set-up for " + host + ": " + drainOpensslErrors());
  ERR_clear_error();
  if (SSL_connect(ssl_.get()) != 1) {
    long verify = SSL_get_verify_result(ssl_.get());
    std::string reason = verify != X509_V_OK ? X509_verify_cert_error_string(verify)
                                             : drainOpensslErrors("handshake failed");
    return fail(Error::kTls, "TLS handshake with " + what + ": " + reason);
  }
  return {};
}

Result<void> Channel::openTunnel(const proxy::http::HostPort &target,
                                 const std::string &proxyAuthorization) {
  std::string authority = proxy::http::formatAuthority(target);
  std::string request = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority +
                        "\r\nUser-Agent: regcache-cache-warm\r\n";
  if (!proxyAuthorization.empty()) request += "Proxy-Authorization: " + proxyAuthorization + "\r\n";
  request += "\r\n";
  if (!sendAll(request)) return fail(Error::kConnect, "cannot send CONNECT to the proxy");
  ConnectAnswer answer;
  proxy::http::ResponseParser parser(proxy::http::Limits{}, answer);
  parser.expectResponseTo("CONNECT");
  // Byte by byte: the TLS handshake's first byte must stay in the socket for OpenSSL.
  char byte = 0;
  for (std::size_t total = 0; total < 65536; ++total) {
    if (::recv(fd_.get(), &byte, 1, 0) != 1) {
      return fail(Error::kConnect, "the proxy closed or timed out answering CONNECT " + authority);
    }
    auto fed = parser.feed(std::string_view(&byte, 1));
    if (fed.status == proxy::http::ParseStatus::kError) {
      return fail(Error::kConnect, "malformed answer to CONNECT " + authority);
    }
    if (fed.status == proxy::http::ParseStatus::kUpgrade ||
        fed.status == proxy::http::ParseStatus::kPaused) {
      if (answer.status >= 200 && answer.status < 300) return {};
      return fail(Error::kPolicy, "the proxy answered CONNECT " + authority + " with " +
                                      std::to_string(answer.status));
    }
  }
  return fail(Error::kConnect, "answer to CONNECT " + authority + " too long");
}

bool Channel::sendAll(std::string_view data) {
  if (ssl_) {
    return SSL_write(ssl_.get(), data.data(), static_cast<int>(data.size())) ==
           static_cast<int>(data.size());
  }
  return ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL) ==
         static_cast<ssize_t>(data.size());
}

bool Channel::idle() const {
  if (ssl_ && SSL_pending(ssl_.get()) > 0) return false;
  pollfd watch{fd_.get(), POLLIN, 0};
  // Readable with nothing asked means a close, a reset or stray bytes: not reusable.
  return ::poll(&watch, 1, 0) == 0;
}

ssize_t Channel::receive(char *buf, std::size_t size) {
  if (!ssl_) return ::recv(fd_.get(), buf, size, 0);
  int n = SSL_read(ssl_.get(), buf, static_cast<int>(size));
  if (n > 0) return n;
  return SSL_get_error(ssl_.get(), n) == SSL_ERROR_ZERO_RETURN ? 0 : -1;
}

Result<Channel> connectChannel(const proxy::http::HostPort &authority, const std::string &what,
                               std::chrono::milliseconds timeout) {
  return connectChannel(authority, what, timeout, timeout);
}

Result<Channel> connectChannel(const proxy::http::HostPort &authority, const std::string &what,
                               std::chrono::milliseconds connectTimeout,
                               std::chrono::milliseconds ioTimeout) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo *addresses = nullptr;
  std::string port = std::to_string(authority.port);
  if (int rc = ::getaddrinfo(authority.host.c_str(), port.c_str(), &hints, &addresses); rc != 0) {
    return fail(Error::kDns, "cannot resolve " + authority.host + ": " + gai_strerror(rc));
  }
  auto asTimeval = [](std::chrono::milliseconds ms) {
    return timeval{static_cast<time_t>(ms.count() / 1000),
                   static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
  };
  UniqueFd fd;
  for (addrinfo *a = addresses; a != nullptr && !fd; a = a->ai_next) {
    UniqueFd candidate(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, 0));
    if (!candidate) continue;
    // On Linux SO_SNDTIMEO bounds a blocking connect() too.
    timeval connectLimit = asTimeval(connectTimeout);
    ::setsockopt(candidate.get(), SOL_SOCKET, SO_SNDTIMEO, &connectLimit, sizeof connectLimit);
    if (::connect(candidate.get(), a->ai_addr, a->ai_addrlen) != 0) continue;
    timeval ioLimit = asTimeval(ioTimeout);
    ::setsockopt(candidate.get(), SOL_SOCKET, SO_RCVTIMEO, &ioLimit, sizeof ioLimit);
    ::setsockopt(candidate.get(), SOL_SOCKET, SO_SNDTIMEO, &ioLimit, sizeof ioLimit);
    int one = 1;
    ::setsockopt(candidate.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fd = std::move(candidate);
  }
  ::freeaddrinfo(addresses);
  if (!fd) return fail(Error::kConnect, "cannot connect to " + what);
  return Channel(std::move(fd));
}

} // namespace regcache::blocking
