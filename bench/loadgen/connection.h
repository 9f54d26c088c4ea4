#pragma once
// One client connection: TCP, CONNECT through the proxy when there is one, TLS, then HTTP/1.1
// requests one after another on it (keep-alive). Blocking sockets with timeouts, one thread each.
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "base/openssl_handles.h"
#include "base/unique_fd.h"
#include "bench/loadgen/options.h"

namespace regcache::bench {

// A client TLS context that verifies the server against CA_FILE, never resumes a session (every
// handshake is a full one, the case the handshake workload measures) and offers only http/1.1.
// Returns null and prints the reason on failure.
SslCtxPtr makeClientContext(const std::string &caFile);

// Reads no faster than a rate, by sleeping once ahead of it; a rate of 0 never sleeps.
class Throttle {
public:
  explicit Throttle(double bytesPerSecond) : bytesPerSecond_(bytesPerSecond) {}
  void onBytes(std::size_t n);
  bool limited() const { return bytesPerSecond_ > 0; }

private:
  double bytesPerSecond_;
  double bytes_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

struct Response {
  int status = 0;
  std::size_t bodyBytes = 0;
};

class Connection {
public:
  // Connects to the proxy (then CONNECT HOST:port) or straight to the target, and completes a TLS
  // handshake with SNI and verified name HOST. Returns false with error() set on any failure.
  bool open(const Options &options, SSL_CTX *ctx, const std::string &host);
  // Sends GET options.path with Host HOST and reads the whole response (Content-Length framed),
  // discarding the body through THROTTLE. Returns nullopt with error() set on any failure; the
  // connection is then unusable.
  std::optional<Response> get(const Options &options, const std::string &host, Throttle &throttle);
  const std::string &error() const { return error_; }
  // The negotiated protocol and cipher, e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384".
  std::string cipher() const;

private:
  bool connectTcp(const std::string &host, const std::string &port, double ioTimeoutSeconds);
  bool sendConnect(const std::string &authority);
  bool fail(std::string why);

  UniqueFd fd_;
  SslPtr ssl_;
  std::string error_;
};

} // namespace regcache::bench
