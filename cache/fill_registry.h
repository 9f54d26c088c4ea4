#pragma once
// Fills in flight, shared by every worker thread, so that however many clients ask for one
// digest at once, exactly one upstream fetch happens. The leader writes the blob; followers read
// the write in progress through readers of their own (BlobReaderSource), before and after the
// commit.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "cache/blob_store.h"

namespace regcache::cache {

struct FillProgress {
  enum State : int { kPending, kStreaming, kCommitted, kFailed };
  std::atomic<int> state{kPending};
  std::atomic<std::uint64_t> written{0};
  // Set by the leader before it publishes kStreaming (release); read after seeing it (acquire).
  std::uint64_t size = 0;
  std::string contentType;
  std::shared_ptr<BlobReaderSource> readers; // the leader's write

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

private:
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<FillProgress>> fills_;
};

} // namespace regcache::cache
