#pragma once
// The running proxy: the CA and leaf cache, the TLS contexts, and the worker threads.
#include <chrono>
#include <memory>
#include <vector>

#include "base/result.h"
#include "proxy/net/socket_address.h"
#include "proxy/server_options.h"

namespace regcache::proxy {

class Server {
public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server &) = delete;
  Server &operator=(const Server &) = delete;

  // Loads or creates the CA, binds every listen address and starts the workers. Throws
  // std::runtime_error with a message for the operator on failure (start-up only).
  void start();
  // The addresses actually bound (port 0 resolved), in --listen order.
  std::vector<net::SocketAddress> boundAddresses() const;
  // Reloads the CA directory now rather than at the next periodic check (SIGHUP).
  void reloadCa();
  // Stops accepting, closes idle keep-alive connections, and waits up to `timeout` for every
  // in-flight response and fill to finish. Returns whether everything finished in time. Call
  // stop() afterwards.
  bool drain(std::chrono::milliseconds timeout);
  // Stops every worker and waits for them. Safe to call twice.
  void stop();

private:
  void openCache();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Runs `regcache serve` until SIGINT or SIGTERM (which drain first, see Server::drain); returns
// the process exit code.
int runServer(const ServerOptions &options);

} // namespace regcache::proxy
