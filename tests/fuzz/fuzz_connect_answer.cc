// Feeds arbitrary bytes to the reader of a parent proxy's answer to CONNECT, split as a socket
// would deliver them, and checks its promises: it never claims more bytes than it was given,
// the head it accepts stays within the bound, a settled answer takes nothing more, and only a
// 2xx opens the tunnel.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proxy/http/connect_answer.h"

using regcache::proxy::http::ConnectAnswer;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  std::size_t step = 1 + data[0] % 64;
  std::string_view input(reinterpret_cast<const char *>(data) + 1, size - 1);
  constexpr std::size_t kMaxHead = 2048;
  ConnectAnswer answer(kMaxHead);
  std::size_t head = 0;
  for (std::size_t offset = 0; offset < input.size(); offset += step) {
    std::string_view piece = input.substr(offset, step);
    bool settled = answer.state() != ConnectAnswer::State::kNeedMore;
    std::size_t used = answer.feed(piece);
    if (used > piece.size()) std::abort();
    if (settled && used != 0) std::abort();
    head += used;
  }
  if (head > kMaxHead) std::abort();
  if (answer.state() == ConnectAnswer::State::kEstablished &&
      (answer.status() < 200 || answer.status() > 299)) {
    std::abort();
  }
  return 0;
}
