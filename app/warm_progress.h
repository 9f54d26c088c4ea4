#pragma once
// What cache warm shows while it works: on a terminal a progress bar per blob in flight, redrawn
// in place; otherwise one line per image when it is done. Safe to call from every fetch thread.
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace regcache::app {

// One image's result, as printed and as the --json summary reports it.
struct ImageOutcome {
  std::string image; // as the operator named it
  bool ok = true;
  std::string error;                  // why it failed (the first reason)
  std::vector<std::string> platforms; // the index entries warmed; empty for a single manifest
  std::size_t blobs = 0;              // config and layer blobs fetched (or already fetched)
  std::uint64_t bytes = 0;
};

class WarmProgress {
public:
  virtual ~WarmProgress() = default;
  // `slot` is the fetching thread's number (0 .. concurrency-1); one blob per slot at a time.
  virtual void blobStarted(std::size_t slot, const std::string &label, std::uint64_t total) = 0;
  virtual void blobBytes(std::size_t slot, std::uint64_t bytes) = 0;
  virtual void blobFinished(std::size_t slot) = 0;
  virtual void imageFinished(const ImageOutcome &outcome) = 0;
};

// The bars when `terminal`, else the lines; writes to `out`, which must outlive the result.
std::unique_ptr<WarmProgress> makeWarmProgress(bool terminal, std::ostream &out);

// "ok   registry.test:5000/app:v1  2 platforms, 4 blobs, 1.2 MiB" or
// "FAIL registry.test:5000/app:v2  manifest v2: HTTP 404 (not found)".
std::string describeOutcome(const ImageOutcome &outcome);

} // namespace regcache::app
