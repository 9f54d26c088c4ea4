#include "bench/loadgen/connection.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <strings.h>
#include <thread>
#include <vector>

namespace regcache::bench {
namespace {

constexpr std::size_t kMaxHead = 64 * 1024;

std::string sslErrors() {
  std::string out;
  unsigned long code;
  while ((code = ERR_get_error()) != 0) {
    std::array<char, 256> text{};
    ERR_error_string_n(code, text.data(), text.size());
    if (!out.empty()) out += "; ";
    out += text.data();
  }
  return out.empty() ? std::string(std::strerror(errno)) : out;
}

// The value of header NAME in HEAD (case-insensitive), or empty.
std::string headerValue(const std::string &head, const char *name) {
  std::size_t nameLength = std::strlen(name);
  std::size_t at = head.find("\r\n");
  while (at != std::string::npos && at + 2 < head.size()) {
    std::size_t line = at + 2;
    std::size_t end = head.find("\r\n", line);
    if (end == std::string::npos) break;
    if (end - line > nameLength && head[line + nameLength] == ':' &&
        strncasecmp(head.data() + line, name, nameLength) == 0) {
      std::size_t value = line + nameLength + 1;
      while (value < end && head[value] == ' ')
        ++value;
      return head.substr(value, end - value);
    }
    at = end;
  }
  return {};
}

} // namespace

SslCtxPtr makeClientContext(const std::string &caFile) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return nullptr;
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
  static const unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX_set_alpn_protos(ctx.get(), kAlpn, sizeof(kAlpn));
  if (SSL_CTX_load_verify_locations(ctx.get(), caFile.c_str(), nullptr) != 1) {
    std::fprintf(stderr, "cannot load %s: %s\n", caFile.c_str(), sslErrors().c_str());
    return nullptr;
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  return ctx;
}

void Throttle::onBytes(std::size_t n) {
  if (bytesPerSecond_ <= 0) return;
  bytes_ += static_cast<double>(n);
  auto due = start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                          std::chrono::duration<double>(bytes_ / bytesPerSecond_));
  if (due > std::chrono::steady_clock::now()) std::this_thread::sleep_until(due);
}

bool Connection::fail(std::string why) {
  error_ = std::move(why);
  return false;
}

bool Connection::connectTcp(const std::string &host, const std::string &port,
                            double ioTimeoutSeconds) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo *found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0)
    return fail("resolve " + host + ": " + gai_strerror(rc));
  Handle<addrinfo, freeaddrinfo> addresses(found);
  fd_.reset(::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd_) return fail(std::string("socket: ") + std::strerror(errno));
  timeval timeout{};
  timeout.tv_sec = static_cast<time_t>(ioTimeoutSeconds);
  timeout.tv_usec = static_cast<suseconds_t>((ioTimeoutSeconds - timeout.tv_sec) * 1e6);
  setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd_.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  int one = 1;
  setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (::connect(fd_.get(), found->ai_addr, found->ai_addrlen) != 0)
    return fail("connect " + host + ":" + port + ": " + std::strerror(errno));
  return true;
}

bool Connection::sendConnect(const std::string &authority) {
  std::string request = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n";
  if (::send(fd_.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size()))
    return fail(std::string("send CONNECT: ") + std::strerror(errno));
  // Byte by byte: nothing past the reply's blank line may be consumed before TLS starts.
  std::string reply;
  char c;
  while (reply.size() < kMaxHead && reply.find("\r\n\r\n") == std::string::npos) {
    if (::recv(fd_.get(), &c, 1, 0) != 1) return fail("CONNECT: no reply");
    reply += c;
  }
  if (reply.compare(0, 12, "HTTP/1.1 200") != 0 && reply.compare(0, 12, "HTTP/1.0 200") != 0)
    return fail("CONNECT refused: " + reply.substr(0, reply.find('\r')));
  return true;
}

bool Connection::open(const Options &options, SSL_CTX *ctx, const std::string &host) {
  const std::string &port = options.target.port;
  if (options.proxy) {
    if (!connectTcp(options.proxy->host, options.proxy->port, options.ioTimeoutSeconds))
      return false;
    if (!sendConnect(host + ":" + port)) return false;
  } else if (!connectTcp(options.connectAddress, port, options.ioTimeoutSeconds)) {
    return false;
  }
  ERR_clear_error();
  ssl_.reset(SSL_new(ctx));
  if (!ssl_) return fail("SSL_new: " + sslErrors());
  SSL_set_tlsext_host_name(ssl_.get(), host.c_str());
  SSL_set1_host(ssl_.get(), host.c_str());
  SSL_set_fd(ssl_.get(), fd_.get()); // the SSL borrows the descriptor; fd_ closes it
  if (SSL_connect(ssl_.get()) != 1) return fail("TLS handshake with " + host + ": " + sslErrors());
  return true;
}

std::optional<Response> Connection::get(const Options &options, const std::string &host,
                                        Throttle &throttle) {
  std::string request = "GET " + options.path + " HTTP/1.1\r\nHost: " + host + ":" +
                        options.target.port + "\r\nUser-Agent: regcache-loadgen\r\n";
  for (const auto &header : options.headers)
    request += header + "\r\n";
  request += "\r\n";
  if (SSL_write(ssl_.get(), request.data(), static_cast<int>(request.size())) <= 0) {
    fail("write: " + sslErrors());
    return {};
  }
  // Throttled readers take small bites, as a slow client's socket would.
  static thread_local std::vector<char> buffer(256 * 1024);
  int bite = throttle.limited() ? 16 * 1024 : static_cast<int>(buffer.size());
  std::string head;
  std::size_t headEnd = std::string::npos;
  while (headEnd == std::string::npos) {
    int n = SSL_read(ssl_.get(), buffer.data(), bite);
    if (n <= 0) {
      fail("read head: " + sslErrors());
      return {};
    }
    head.append(buffer.data(), static_cast<std::size_t>(n));
    headEnd = head.find("\r\n\r\n");
    if (headEnd == std::string::npos && head.size() > kMaxHead) {
      fail("response head too long");
      return {};
    }
  }
  Response response;
  if (head.size() < 12 || head.compare(0, 5, "HTTP/") != 0) {
    fail("not an HTTP response");
    return {};
  }
  response.status = std::atoi(head.c_str() + 9);
  std::string length = headerValue(head.substr(0, headEnd + 2), "Content-Length");
  if (length.empty()) {
    fail("response without Content-Length (status " + std::to_string(response.status) + ")");
    return {};
  }
  std::size_t want = std::strtoull(length.c_str(), nullptr, 10);
  std::size_t have = head.size() - (headEnd + 4);
  throttle.onBytes(have);
  // A body limit stops early; the caller drops the connection, whose rest is never read.
  if (options.bodyLimit > 0 && options.bodyLimit < want) want = std::max(options.bodyLimit, have);
  while (have < want) {
    int n = SSL_read(
        ssl_.get(), buffer.data(),
        static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(bite), want - have)));
    if (n <= 0) {
      fail("read body at " + std::to_string(have) + " of " + std::to_string(want) + ": " +
           sslErrors());
      return {};
    }
    have += static_cast<std::size_t>(n);
    throttle.onBytes(static_cast<std::size_t>(n));
  }
  if (have != want) {
    fail("more bytes than Content-Length");
    return {};
  }
  response.bodyBytes = want;
  return response;
}

std::string Connection::cipher() const {
  if (!ssl_) return "";
  return std::string(SSL_get_version(ssl_.get())) + " " + SSL_get_cipher_name(ssl_.get());
}

} // namespace regcache::bench
