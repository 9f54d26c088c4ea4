#pragma once
// The running proxy: the CA and leaf cache, the TLS contexts, and the worker threads.
#include <chrono>
#include <functional>
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
  // The addresses actually bound (port 0 resolved), in --listen order, then
  // --mirror-tls-listen's.
  std::vector<net::SocketAddress> boundAddresses() const;
  // Reloads the CA directory now rather than at the next periodic check (SIGHUP).
  void reloadCa();
  // SIGHUP: applies from `next` what can change while connections run (the log level,
  // --allow-client, --allow-target, --deny-target, --proxy-auth-file and --upstream-auth with
  // their files read again, --tag-ttl, --cache-max-size) and reloads the CA. Every other field
  // of `next` is ignored (the caller says which need a restart). All of it is checked before
  // anything changes: on failure the running configuration stays whole and the reason is
  // returned. Open connections are never closed. Call from one thread at a time.
  Result<void> reload(const ServerOptions &next);
  // Blocks until the index writer has written to cache.db every change handed to it so far
  // (the loops write behind). For tests and tools that read the file; never on a loop.
  void flushIndex();
  // Stops accepting, closes idle keep-alive connections, and waits up to `timeout` for every
  // in-flight response and fill to finish. Returns whether everything finished in time. Call
  // stop() afterwards.
  bool drain(std::chrono::milliseconds timeout);
  // Stops every worker and waits for them. Safe to call twice.
  void stop();

private:
  void openCache();
  // The fleet's bucket in front of which this host's disk is a tier (--store), if any.
  void openSharedStore();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reads the configuration again for SIGHUP (the same command line and config file); throws
// std::exception with the reason when it does not load.
using Reloader = std::function<ServerOptions()>;

// Runs `regcache serve` until SIGINT or SIGTERM (which drain first, see Server::drain); returns
// the process exit code. On SIGHUP,
// reloads what it can through `reloader` (see Server::reload), or only the CA without one.
int runServer(const ServerOptions &options, const Reloader &reloader = {});

} // namespace regcache::proxy
