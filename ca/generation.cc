#include "ca/generation.h"

#include "base/time_format.h"

#include <cstdio>
#include <ctime>
#include <sstream>

namespace regcache::ca {
namespace {

long long toUnix(Clock::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
Clock::TimePoint fromUnix(long long s) { return Clock::TimePoint(std::chrono::seconds(s)); }

} // namespace

const char *stateName(RootState state) {
  switch (state) {
  case RootState::kNext: return "next";
  case RootState::kActive: return "active";
  case RootState::kRetiring: return "retiring";
  case RootState::kRetired: return "retired";
  }
  return "?";
}

std::vector<RootState> statesAt(const std::vector<GenerationTimes> &generations,
                                Clock::TimePoint now) {
  std::vector<RootState> states;
  for (std::size_t i = 0; i < generations.size(); ++i) {
    const auto &g = generations[i];
    bool superseded = false;
    for (std::size_t j = i + 1; j < generations.size(); ++j) {
      superseded = superseded || generations[j].activateAt <= now;
    }
    if (now < g.activateAt) {
      states.push_back(RootState::kNext);
    } else if (g.retireAt && now >= *g.retireAt) {
      states.push_back(RootState::kRetired);
    } else if (superseded) {
      states.push_back(RootState::kRetiring);
    } else {
      states.push_back(RootState::kActive);
    }
  }
  return states;
}

std::optional<Clock::TimePoint> nextTransitionAfter(const std::vector<GenerationTimes> &generations,
                                                    Clock::TimePoint now) {
  std::optional<Clock::TimePoint> next;
  auto consider = [&](Clock::TimePoint t) {
    if (t > now && (!next || t < *next)) next = t;
  };
  for (const auto &g : generations) {
    consider(g.activateAt);
    if (g.retireAt) consider(*g.retireAt);
  }
  return next;
}

std::string formatTimes(const GenerationTimes &times) {
  std::string out = "created_at=" + std::to_string(toUnix(times.createdAt)) + "\n";
  out += "activate_at=" + std::to_string(toUnix(times.activateAt)) + "\n";
  if (times.retireAt) out += "retire_at=" + std::to_string(toUnix(*times.retireAt)) + "\n";
  return out;
}

Result<GenerationTimes> parseTimes(int number, const std::string &text) {
  GenerationTimes times;
  times.number = number;
  bool created = false, activate = false;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = line.substr(0, eq);
    long long value = 0;
    try {
      value = std::stoll(line.substr(eq + 1));
    } catch (const std::exception &) {
      return fail(Error::kInvalidInput, "bad value for " + key);
    }
    if (key == "created_at") {
      times.createdAt = fromUnix(value);
      created = true;
    } else if (key == "activate_at") {
      times.activateAt = fromUnix(value);
      activate = true;
    } else if (key == "retire_at") {
      times.retireAt = fromUnix(value);
    }
  }
  if (!created || !activate) return fail(Error::kInvalidInput, "missing created_at or activate_at");
  return times;
}

std::string formatUtc(Clock::TimePoint time) { return formatUtcTime(time, "%Y-%m-%dT%H:%M:%SZ"); }

} // namespace regcache::ca
