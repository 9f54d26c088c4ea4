#pragma once
// Fills in flight, shared by every worker thread, so that however many clients ask for one
// digest at once, exactly one upstream fetch happens. The leader writes the blob; followers read
// the write in progress through readers of their own (BlobReaderSource), before and after the
// commit.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "cache/blob_store.h"

namespace regcache::cache {

// Who started a fill: a client with another credential joins only after upstream accepts it.
// Fixed before the fill is published in the registry, so readers on any thread may read it.
struct FillLeader {
  std::string credentialKey; // the leader's Credential::key; empty: no Authorization
  std::string repository;    // what the leader asked under
  // Anyone may read what the leader fetched: it asked without credentials, or under a
  // repository known to be public.
  bool openToAll = false;
};

struct FillProgress {
  explicit FillProgress(FillLeader startedBy) : leader(std::move(startedBy)) {}
  const FillLeader leader;
  enum State : int { kPending, kStreaming, kCommitted, kFailed };
  std::atomic<int> state{kPending};
  std::atomic<std::uint64_t> written{0};
  // Set by the leader before it publishes kStreaming (release); read after seeing it (acquire).
  std::uint64_t size = 0;
  std::string contentType;
  std::shared_ptr<BlobReaderSource> readers; // the leader's write
  // When the leader joined; set before the fill is shared, never changed.
  std::chrono::steady_clock::time_point startedAt = std::chrono::steady_clock::now();

  bool terminal() const {
    int s = state.load(std::memory_order_acquire);
    return s == kCommitted || s == kFailed;
  }

  // Readers are woken, never polling: `waker` is called, on the leader's thread and under this
  // fill's lock, each time `written` or `state` changes. It must be quick and must not call back
  // into this object (readers post to their own loop). Returns an id for unsubscribe(). A reader
  // reads `state` after subscribing, so a change just before is not missed.
  std::uint64_t subscribe(std::function<void()> waker);
  // After this returns the waker is never called again (it may be running until then).
  void unsubscribe(std::uint64_t id);
  // The leader: publishes how many bytes are in storage, and wakes the readers.
  void publishWritten(std::uint64_t bytes);
  // The leader: publishes a new state (release), and wakes the readers.
  void publishState(State next);

private:
  void wakeReaders();
  std::mutex wakersMutex_;
  std::uint64_t nextWaker_ = 1;
  std::map<std::uint64_t, std::function<void()>> wakers_;
};

class FillRegistry {
public:
  // The fill for `key`: a new one started by `leader` and true (the caller leads and must call
  // finish), or the one in flight and false (the caller follows; `leader` is ignored).
  std::pair<std::shared_ptr<FillProgress>, bool> join(const std::string &key, FillLeader leader);
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
