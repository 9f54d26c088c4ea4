#pragma once
// A parent proxy's answer to the CONNECT regcache sends it (RFC 9110 section 9.3.6). Only the
// head matters: a 2xx opens the tunnel, and every byte after the head belongs to the tunnel;
// any other final status is a refusal. The parent is hostile input like any upstream: its head
// is bounded in size here (one that never ends fails instead of growing), the caller bounds it
// in time. Pure: no I/O, no logging.
#include <cstddef>
#include <string>
#include <string_view>

#include "proxy/http/parser.h"

namespace regcache::proxy::http {

class ConnectAnswer {
public:
  enum class State {
    kNeedMore,    // the head has not ended yet
    kEstablished, // a 2xx head ended: the tunnel is open
    kRefused,     // a final non-2xx head: status() and reason() say which
    kMalformed,   // not an HTTP response head; reason() says why
    kTooLarge,    // the head passed maxHeadBytes
  };

  // maxHeadBytes bounds the status line and every header line together, interim heads included.
  explicit ConnectAnswer(std::size_t maxHeadBytes = 16 * 1024);
  ConnectAnswer(const ConnectAnswer &) = delete;
  ConnectAnswer &operator=(const ConnectAnswer &) = delete;

  // Feeds the next bytes the parent sent, split anywhere. Returns how many of them belong to the
  // head: all of them while kNeedMore; with kEstablished, the bytes past that count are the
  // tunnel's and must reach whatever speaks through it. Once the state is no longer kNeedMore,
  // feeding consumes nothing and changes nothing.
  std::size_t feed(std::string_view bytes);

  State state() const { return state_; }
  // The final status (kEstablished, kRefused), else 0.
  int status() const { return status_; }
  // The reason phrase (kEstablished, kRefused) or what was wrong (kMalformed, kTooLarge).
  const std::string &reason() const { return reason_; }

private:
  struct Sink : ResponseSink {
    int status = 0;
    std::string reason;
    void onResponseHead(ResponseHead &&head) override;
    void onResponseBody(std::string_view) override {}
    void onResponseEnd() override {}
  };

  void settle(ParseStatus status);

  std::size_t maxHeadBytes_;
  std::size_t seen_ = 0;
  Sink sink_;
  ResponseParser parser_;
  State state_ = State::kNeedMore;
  int status_ = 0;
  std::string reason_;
};

} // namespace regcache::proxy::http
