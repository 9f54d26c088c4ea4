#pragma once
// A root's life: next -> active -> retiring -> retired. The state is never stored; it follows
// from each generation's times and the clock, so every process that reads the CA directory
// agrees on it, and a scheduled switch needs nobody to flip a file.
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"

namespace regcache::ca {

enum class RootState {
  kNext,     // published in the bundle, not signing yet
  kActive,   // signs new leaves
  kRetiring, // superseded; still in the bundle while leaves it signed may be in use
  kRetired,  // gone from the bundle
};
const char *stateName(RootState state);

struct GenerationTimes {
  int number = 0;
  Clock::TimePoint createdAt;
  Clock::TimePoint activateAt;              // when it starts signing
  std::optional<Clock::TimePoint> retireAt; // set once a successor is scheduled
};

// The state of each generation at `now`. `generations` is sorted by number; a generation is
// retiring once any later one has become active, and retired from its retireAt on.
std::vector<RootState> statesAt(const std::vector<GenerationTimes> &generations,
                                Clock::TimePoint now);

// The earliest activateAt or retireAt after `now`, if any.
std::optional<Clock::TimePoint> nextTransitionAfter(const std::vector<GenerationTimes> &generations,
                                                    Clock::TimePoint now);

// The text stored in gen-NNNN/times, and back.
std::string formatTimes(const GenerationTimes &times);
Result<GenerationTimes> parseTimes(int number, const std::string &text);

// "2026-11-22T13:40:00Z"
std::string formatUtc(Clock::TimePoint time);

} // namespace regcache::ca
