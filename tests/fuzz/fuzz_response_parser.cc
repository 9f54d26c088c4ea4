// Feeds arbitrary bytes to the response parser as an upstream would send them, for a GET or a
// HEAD, and finishes with EOF, checking that consumption stays within the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "proxy/http/parser.h"
#include "tests/fuzz/feed_in_steps.h"

using namespace regcache::proxy::http;

namespace {

struct Sink : ResponseSink {
  std::size_t bodyBytes = 0;
  void onResponseHead(ResponseHead &&head) override {
    Headers copy = head.headers;
    stripHopByHop(copy);
    (void)serializeResponseHead(head);
  }
  void onResponseBody(std::string_view data) override { bodyBytes += data.size(); }
  void onResponseEnd() override {}
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  const char *method = (data[0] & 1) != 0 ? "HEAD" : "GET";
  std::size_t step = 1 + (data[0] >> 1) % 32;
  std::string_view input(reinterpret_cast<const char *>(data) + 1, size - 1);
  Limits limits;
  limits.maxHeaderBytes = 4096;
  Sink sink;
  ResponseParser parser(limits, sink);
  parser.expectResponseTo(method);
  if (regcache::fuzz::feedInSteps(parser, input, step, [&] { parser.expectResponseTo(method); }) !=
      ParseStatus::kNeedMore)
    return 0;
  (void)parser.finishOnEof();
  if (sink.bodyBytes > input.size()) std::abort();
  return 0;
}
