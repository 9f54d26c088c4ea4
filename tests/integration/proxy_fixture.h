#pragma once
// Runs a real regcache Server in-process on 127.0.0.1 port 0, with its data dir in a fresh
// temp directory that is removed afterwards. Loopback targets are allowed (every test upstream
// is there); a test's `configure` may change that.
#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include "proxy/server.h"
#include "proxy/server_options.h"

namespace regcache::test {

class ProxyFixture {
public:
  explicit ProxyFixture(const std::function<void(proxy::ServerOptions &)> &configure = {});
  ~ProxyFixture();
  uint16_t port() const { return port_; }
  // Every bound port: --listen's, then --mirror-tls-listen's.
  const std::vector<uint16_t> &ports() const { return ports_; }
  const std::filesystem::path &dataDir() const { return dataDir_; }
  proxy::Server &server() { return *server_; }
  // Waits until cache.db holds every index change the proxy made so far (it writes behind).
  void flushIndex() const { server_->flushIndex(); }

private:
  std::filesystem::path dataDir_;
  std::unique_ptr<proxy::Server> server_;
  uint16_t port_ = 0;
  std::vector<uint16_t> ports_;
};

} // namespace regcache::test
