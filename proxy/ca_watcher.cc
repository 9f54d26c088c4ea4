#include "proxy/ca_watcher.h"

#include "base/log.h"
#include "ca/authority.h"
#include "ca/leaf_cache.h"

namespace regcache::proxy {

CaWatcher::CaWatcher(std::filesystem::path dir, ca::LeafCache &leaves, const Clock &clock,
                     CaWatchOptions options)
    : dir_(std::move(dir)), leaves_(leaves), clock_(clock), options_(options) {}

CaWatcher::~CaWatcher() { stop(); }

void CaWatcher::start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      wake_.wait_for(lock, options_.interval, [this] { return stopping_ || checkRequested_; });
      if (stopping_) break;
      checkRequested_ = false;
      lock.unlock();
      check();
      lock.lock();
    }
  });
}

void CaWatcher::checkNow() {
  std::lock_guard lock(mutex_);
  checkRequested_ = true;
  wake_.notify_one();
}

void CaWatcher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void CaWatcher::maybeRotate() {
  if (options_.rotateEvery.count() <= 0) return;
  auto current = leaves_.authority();
  const auto &newest = current->generations().back();
  if (newest.state == ca::RootState::kNext) return; // a rotation is already under way
  if (clock_.now() < newest.times.createdAt + options_.rotateEvery) return;
  ca::RotateOptions rotate;
  rotate.overlap = std::chrono::duration_cast<std::chrono::seconds>(options_.overlap);
  rotate.leafValidity = options_.leafValidity;
  auto number = ca::Authority::rotate(dir_, clock_, rotate);
  if (number.ok()) {
    log::ca().info("scheduled CA rotation: generation {} published", number.value());
  } else {
    log::ca().warn("scheduled CA rotation failed: {}", number.failure().detail);
  }
}

void CaWatcher::check() {
  maybeRotate();
  auto loaded = ca::Authority::load(dir_, clock_);
  if (!loaded.ok()) {
    // Keep signing with what we have: a half-edited CA directory must not stop the proxy.
    log::ca().warn("cannot reload the CA from {}: {}", dir_.string(), loaded.failure().detail);
    return;
  }
  auto current = leaves_.authority();
  if (loaded.value()->identity() == current->identity()) return;
  const auto &fresh = *loaded.value();
  std::string states;
  for (const auto &g : fresh.generations()) {
    states += " gen-" + std::to_string(g.times.number) + "=" + ca::stateName(g.state);
  }
  log::ca().info("CA changed; signing root now {} ({}),{} leaf cache flushed",
                 ca::fingerprintSha256(fresh.signingCert()).substr(0, 23),
                 fresh.chainCerts().empty() ? "no cross-certificate" : "with cross-certificate",
                 states);
  leaves_.setAuthority(loaded.value());
}

} // namespace regcache::proxy
