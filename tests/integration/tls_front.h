#pragma once
// A TLS front for a plain test upstream: it listens on 127.0.0.1, terminates TLS with a
// self-signed certificate for IP 127.0.0.1 (written to caFile(), for the proxy's upstreamCaFiles)
// and relays the bytes to 127.0.0.1:backendPort. Tests reach a ScriptedUpstream over verified
// TLS this way, with `GET https://127.0.0.1:PORT/...` through the proxy. One thread per
// connection; every wait is bounded and everything stops in the destructor.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/openssl_handles.h"
#include "loopback_server.h"

namespace regcache::test {

class TlsFront {
public:
  // With `cleartextBackendPort`, a peer that speaks no TLS on this port is relayed there, as
  // an attacker on the path (or a second service on the port) would answer plain HTTP.
  explicit TlsFront(uint16_t backendPort, uint16_t cleartextBackendPort = 0);
  ~TlsFront();
  TlsFront(const TlsFront &) = delete;
  TlsFront &operator=(const TlsFront &) = delete;

  uint16_t port() const { return server_->port(); }
  // The PEM of the certificate the front presents: trust it as an upstream CA.
  const std::filesystem::path &caFile() const { return caFile_; }
  // What peers sent in the clear (no TLS handshake) to this port: a proxy that leaks must show.
  std::string cleartextReceived() const;

private:
  void relay(int clientFd);
  const std::atomic<bool> &stopping() const { return server_->stopping(); }

  uint16_t backendPort_;
  uint16_t cleartextBackendPort_;
  std::filesystem::path caFile_;
  SslCtxPtr ctx_;
  mutable std::mutex mutex_;
  std::string cleartext_;
  std::optional<LoopbackServer> server_; // last: its threads use the members above
};

} // namespace regcache::test
