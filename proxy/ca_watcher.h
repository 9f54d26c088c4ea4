#pragma once
// Keeps a running server's CA current. Every check reloads <data-dir>/ca (cheap: a few small
// files) and, when the signing root, its chain or the bundle changed - a rotation by
// `regcache ca rotate` from another process, or a scheduled switch coming due - hands the new
// Authority to the leaf cache, which drops the old leaves. Connections in flight keep their TLS
// sessions; new handshakes get leaves from the new root. It also runs automatic rotation.
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "base/clock.h"

namespace regcache::ca {
class LeafCache;
}

namespace regcache::proxy {

struct CaWatchOptions {
  std::chrono::milliseconds interval{std::chrono::seconds(2)};
  std::chrono::milliseconds rotateEvery{0}; // 0: no automatic rotation
  std::chrono::milliseconds overlap{std::chrono::hours(24 * 7)};
  std::chrono::hours leafValidity{24 * 7};
};

class CaWatcher {
public:
  // `leaves` and `clock` must outlive the watcher.
  CaWatcher(std::filesystem::path dir, ca::LeafCache &leaves, const Clock &clock,
            CaWatchOptions options);
  ~CaWatcher();
  CaWatcher(const CaWatcher &) = delete;
  CaWatcher &operator=(const CaWatcher &) = delete;

  // Starts checking every interval on a thread of its own.
  void start();
  // Checks now (SIGHUP). Thread-safe.
  void checkNow();
  void stop();

private:
  void check();
  void maybeRotate();

  std::filesystem::path dir_;
  ca::LeafCache &leaves_;
  const Clock &clock_;
  CaWatchOptions options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool checkRequested_ = false;
  std::thread thread_;
};

} // namespace regcache::proxy
