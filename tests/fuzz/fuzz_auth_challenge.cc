// Feeds arbitrary bytes to the parsers of authentication headers: the WWW-Authenticate parser
// (upstream's) must not crash, read out of bounds or loop, and whatever it returns must be
// well-formed (lower-case schemes and names); the same bytes as a client's Authorization go
// through the bearer token's expiry reader.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proxy/http/auth_challenge.h"
#include "proxy/http/bearer_token.h"

using namespace regcache::proxy::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view input(reinterpret_cast<const char *>(data), size);
  auto challenges = parseAuthChallenges(input);
  if (challenges.size() > size) std::abort(); // every challenge consumes input
  for (const auto &challenge : challenges) {
    if (challenge.scheme.empty()) std::abort();
    for (char c : challenge.scheme) {
      if (std::isupper(static_cast<unsigned char>(c))) std::abort();
    }
    for (const auto &[name, value] : challenge.params) {
      if (name.empty() || value.size() > size) std::abort();
    }
  }
  (void)bearerTokenExpiry(input);
  return 0;
}
