#include "proxy/http/connect_answer.h"

namespace regcache::proxy::http {
namespace {

Limits limitsFor(std::size_t maxHeadBytes) {
  Limits limits;
  limits.maxRequestLine = maxHeadBytes;
  limits.maxHeaderBytes = maxHeadBytes;
  limits.maxHeaderCount = 100;
  // A proxy has no reason to send 1xx before its CONNECT answer; a few are tolerated.
  limits.maxInterimResponses = 4;
  return limits;
}

} // namespace

void ConnectAnswer::Sink::onResponseHead(ResponseHead &&head) {
  // Interim (1xx but 101): the answer is still to come.
  if (head.status < 200 && head.status != 101) return;
  if (status != 0) return; // only the first final head is the answer
  status = head.status;
  // The phrase reaches logs and a client's error body: printable ASCII only, and short.
  for (char c : head.reason) {
    if (reason.size() == 100) break;
    reason += c >= 0x20 && c < 0x7f ? c : '?';
  }
}

ConnectAnswer::ConnectAnswer(std::size_t maxHeadBytes)
    : maxHeadBytes_(maxHeadBytes), parser_(limitsFor(maxHeadBytes), sink_) {
  parser_.expectResponseTo("CONNECT");
}

std::size_t ConnectAnswer::feed(std::string_view bytes) {
  if (state_ != State::kNeedMore || bytes.empty()) return 0;
  // Never hand the parser more than the bound allows, so a head that does not end within it
  // stops here whatever the parser's own limits would let through.
  std::size_t room = maxHeadBytes_ - seen_;
  bool clipped = bytes.size() > room;
  std::string_view fed = clipped ? bytes.substr(0, room) : bytes;
  FeedResult result = parser_.feed(fed);
  settle(result.status);
  if (state_ == State::kNeedMore && clipped) {
    state_ = State::kTooLarge;
    reason_ = "the answer's head is longer than " + std::to_string(maxHeadBytes_) + " bytes";
  }
  std::size_t used = state_ == State::kEstablished ? result.consumed : fed.size();
  seen_ += used;
  return used;
}

void ConnectAnswer::settle(ParseStatus status) {
  // A final head decides, whatever the parser made of the bytes after it (a refusal's body).
  if (sink_.status != 0) {
    status_ = sink_.status;
    reason_ = sink_.reason;
    bool established = status == ParseStatus::kUpgrade && status_ >= 200 && status_ < 300;
    state_ = established ? State::kEstablished : State::kRefused;
    return;
  }
  if (status != ParseStatus::kError) return;
  ParseError error = parser_.error();
  state_ = error == ParseError::kHeadersTooLarge || error == ParseError::kRequestLineTooLong ||
                   error == ParseError::kTooManyHeaders
               ? State::kTooLarge
               : State::kMalformed;
  // A limit reads better in its own words than in llhttp's ("callback error").
  reason_ = state_ == State::kTooLarge ? describe(error) : std::string(parser_.errorReason());
  if (reason_.empty()) reason_ = describe(error);
}

} // namespace regcache::proxy::http
