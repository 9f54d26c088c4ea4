#pragma once
// Sinks that record every parser event as text, so event sequences can be compared.
#include <string>
#include <vector>

#include "proxy/http/parser.h"

namespace regcache::test {

struct RequestRecorder : proxy::http::RequestSink {
  std::vector<std::string> events;
  std::vector<proxy::http::RequestHead> heads;
  void onRequestHead(proxy::http::RequestHead &&head) override;
  void onRequestBody(std::string_view data) override;
  void onRequestEnd() override { events.push_back("end"); }
};

struct ResponseRecorder : proxy::http::ResponseSink {
  std::vector<std::string> events;
  std::vector<proxy::http::ResponseHead> heads;
  void onResponseHead(proxy::http::ResponseHead &&head) override;
  void onResponseBody(std::string_view data) override;
  void onResponseEnd() override { events.push_back("end"); }
};

// Body events merged, so split feeding (many small body events) compares equal.
std::vector<std::string> mergeBodies(const std::vector<std::string> &events);

// Feeds `input` in pieces of `step` bytes, resuming after every message end, until it is all
// consumed or an error or upgrade stops it. Returns the last status.
template <class Parser>
proxy::http::ParseStatus feedAll(Parser &parser, std::string_view input, std::size_t step) {
  using proxy::http::ParseStatus;
  std::size_t offset = 0;
  std::string pending;
  ParseStatus last = ParseStatus::kNeedMore;
  while (offset < input.size() || !pending.empty()) {
    if (pending.empty()) {
      pending.assign(input.substr(offset, step));
      offset += pending.size();
    }
    auto result = parser.feed(pending);
    pending.erase(0, result.consumed);
    last = result.status;
    if (last == ParseStatus::kPaused) {
      parser.resume();
      continue;
    }
    if (last == ParseStatus::kError || last == ParseStatus::kUpgrade) return last;
  }
  return last;
}

} // namespace regcache::test
