#pragma once
// Fills in flight, shared by every worker thread, so that however many clients ask for one
// digest at once, exactly one upstream fetch happens. The leader writes the blob; followers read
// the same temp file as it grows, and the finished blob afterwards.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace regcache::cache {

struct FillProgress {
  enum State : int { kPending, kStreaming, kCommitted, kFailed };
  std::atomic<int> state{kPending};
  std::atomic<std::uint64_t> written{0};
  // Set by the leader before it publishes kStreaming (release); read after seeing it (acquire).
  std::uint64_t size = 0;
  std::string contentType;
  std::filesystem::path tempPath;
  // When the leader joined; set before the fill is shared, never changed.
  std::chrono::steady_clock::time_point startedAt = std::chrono::steady_clock::now();

  bool terminal() const {
    int s = state.load(std::memory_order_acquire);
    return s == kCommitted || s == kFailed;
  }
};

class FillRegistry {
public:
  // The fill for `digest`: a new one and true (the caller leads and must call finish), or the
  // one in flight and false (the caller follows).
  std::pair<std::shared_ptr<FillProgress>, bool> join(const std::string &digest);
  // Ends the leader's fill with `state` (kCommitted or kFailed) and lets the next miss lead.
  void finish(const std::string &digest, const std::shared_ptr<FillProgress> &progress,
              FillProgress::State state);
  std::size_t inFlight() const;

  // One fill in flight, as the status page shows it.
  struct Snapshot {
    std::string digest; // the key the leader joined with
    std::uint64_t written = 0;
    std::uint64_t size = 0; // 0 until upstream's head announced it
    std::chrono::steady_clock::time_point startedAt;
    long readers = 0; // the leader and its followers: every holder of the progress but this map
  };
  // The fills in flight now, by digest.
  std::vector<Snapshot> snapshot() const;

private:
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<FillProgress>> fills_;
};

} // namespace regcache::cache
