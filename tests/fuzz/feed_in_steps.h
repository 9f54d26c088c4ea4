#pragma once
// Feeds `input` to a parser `step` bytes at a time, the way a socket delivers it, and keeps the
// parser's promises checked on the way: it never consumes more than it was given. After a pause
// (one message ended) `onPaused` runs and the parser resumes. Stops at the first status that is
// neither "need more" nor "paused", and returns it; bounded in rounds, so a parser that makes no
// progress cannot hang the fuzzer.
#include <cstddef>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proxy/http/parser.h"

namespace regcache::fuzz {

template <typename Parser, typename OnPaused>
proxy::http::ParseStatus feedInSteps(Parser &parser, std::string_view input, std::size_t step,
                                     OnPaused onPaused) {
  using proxy::http::ParseStatus;
  std::size_t offset = 0;
  std::string pending;
  for (int rounds = 0; rounds < 100000 && (offset < input.size() || !pending.empty()); ++rounds) {
    if (pending.empty()) {
      pending.assign(input.substr(offset, step));
      offset += pending.size();
    }
    auto result = parser.feed(pending);
    if (result.consumed > pending.size()) std::abort();
    pending.erase(0, result.consumed);
    if (result.status == ParseStatus::kPaused) {
      parser.resume();
      onPaused();
    } else if (result.status != ParseStatus::kNeedMore) {
      return result.status;
    }
  }
  return ParseStatus::kNeedMore;
}

} // namespace regcache::fuzz
