#include "proxy_fixture.h"

#include <spdlog/spdlog.h>

#include <random>

#include "base/log.h"

namespace regcache::test {

ProxyFixture::ProxyFixture(const std::function<void(proxy::ServerOptions &)> &configure) {
  std::random_device random;
  dataDir_ = std::filesystem::temp_directory_path() /
             ("regcache-it-" + std::to_string(random()) + std::to_string(random()));
  std::filesystem::create_directories(dataDir_);
  log::setup(std::getenv("REGCACHE_TEST_LOG") ? std::getenv("REGCACHE_TEST_LOG") : "warn", "");
  log::access().set_level(spdlog::level::warn);

  proxy::ServerOptions options;
  options.listen = {{"127.0.0.1", 0}};
  options.dataDir = dataDir_;
  options.workers = 2;
  // Every test upstream listens on loopback, which the proxy refuses to reach by default.
  options.allowTargets = {"127.0.0.0/8", "::1"};
  if (configure) configure(options);
  server_ = std::make_unique<proxy::Server>(options);
  server_->start();
  port_ = server_->boundAddresses().at(0).port();
  for (const auto &address : server_->boundAddresses())
    ports_.push_back(address.port());
}

ProxyFixture::~ProxyFixture() {
  server_->stop();
  server_.reset();
  std::error_code ec;
  std::filesystem::remove_all(dataDir_, ec);
}

} // namespace regcache::test
