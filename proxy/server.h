#pragma once
// The running proxy: the CA and leaf cache, the TLS contexts, and the worker threads.
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
  // Blocks until the index writer has written to cache.db every change handed to it so far
  // (the loops write behind). For tests and tools that read the file; never on a loop.
  void flushIndex();
  // Stops every worker and waits for them. Safe to call twice.
  void stop();

private:
  void openCache();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Runs `regcache serve` until SIGINT or SIGTERM; returns the process exit code.
int runServer(const ServerOptions &options);

} // namespace regcache::proxy
