// Feeds arbitrary bytes to the request parser and router, split at a point the input chooses, and
// checks the parser's promises: it never consumes more than it was given, a split feed sees the
// same heads as a whole feed, and the targets it reports parse (or fail) without crashing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/oci/registry_route.h"
#include "proxy/http/parser.h"
#include "proxy/http/target.h"
#include "proxy/session/route.h"
#include "tests/fuzz/feed_in_steps.h"

using namespace regcache::proxy::http;

namespace {

struct Recorder : RequestSink {
  std::vector<std::string> heads;
  void onRequestHead(RequestHead &&head) override {
    heads.push_back(head.method + " " + head.target);
    (void)parseConnectTarget(head.target);
    (void)parseAbsoluteUrl(head.target);
    // The router, outside and inside an intercepted session, and the registry route parser on
    // whatever path it picks.
    for (const auto &intercepted :
         {std::optional<HostPort>{},
          std::optional<HostPort>{HostPort{"registry.test", 443, false}}}) {
      auto route = regcache::proxy::routeRequest(head, intercepted);
      std::string_view path = route.originTarget;
      (void)regcache::oci::parseRegistryPath(path.substr(0, path.find('?')));
    }
    Headers copy = head.headers;
    stripHopByHop(copy);
    (void)serializeRequestHead(head);
  }
  void onRequestBody(std::string_view) override {}
  void onRequestEnd() override { heads.push_back("end"); }
};

std::vector<std::string> run(std::string_view input, std::size_t step) {
  Limits limits;
  limits.maxHeaderBytes = 4096;
  limits.maxHeaderCount = 32;
  Recorder sink;
  RequestParser parser(limits, sink);
  regcache::fuzz::feedInSteps(parser, input, step, [] {});
  return sink.heads;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  std::size_t step = 1 + data[0] % 16;
  std::string_view input(reinterpret_cast<const char *>(data) + 1, size - 1);
  auto whole = run(input, input.size() + 1);
  auto split = run(input, step);
  // A split feed may stop at the same error later, so it can only see the same heads or fewer
  // trailing ones; the ones both saw must agree.
  for (std::size_t i = 0; i < whole.size() && i < split.size(); ++i) {
    if (whole[i] != split[i]) std::abort();
  }
  return 0;
}
