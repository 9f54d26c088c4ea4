#pragma once
// Incremental HTTP/1.1 parsers over llhttp in its strict mode (no lenient flags: conflicting
// Content-Length and Transfer-Encoding, duplicate lengths, bad chunk sizes and obs-fold are all
// errors, which closes the request-smuggling doors). They do no I/O and no logging, and allocate
// only for the head; body bytes are handed out as views into the caller's buffer.
#include <memory>
#include <string_view>

#include "proxy/http/limits.h"
#include "proxy/http/message.h"

namespace regcache::proxy::http {

enum class ParseStatus {
  kNeedMore, // everything was consumed; feed more
  kPaused,   // a message ended; call resume() before feeding the next one
  kUpgrade,  // a CONNECT (or 101) head ended; what follows is not HTTP
  kError,    // see error(); the parser accepts nothing more
};

enum class ParseError {
  kNone,
  kMalformed,
  kRequestLineTooLong,
  kHeadersTooLarge,
  kTooManyHeaders,
  kTooManyInterimResponses, // more 1xx heads than Limits::maxInterimResponses
  kUnexpectedEof,
  kNotHttp1, // an HTTP/0.9 or 2.0 request line, or HTTP/2's PRI preface method
};

// The status the proxy answers a client's bad request with (400, 414 or 431).
int statusFor(ParseError error);
const char *describe(ParseError error);

struct FeedResult {
  std::size_t consumed = 0; // bytes of the input that belong to messages parsed so far
  ParseStatus status = ParseStatus::kNeedMore;
};

class RequestSink {
public:
  virtual ~RequestSink() = default;
  virtual void onRequestHead(RequestHead &&head) = 0;
  // Decoded body bytes (chunk framing removed); the view is valid only during the call.
  virtual void onRequestBody(std::string_view data) = 0;
  virtual void onRequestEnd() = 0;
};

class ResponseSink {
public:
  virtual ~ResponseSink() = default;
  // Also called for interim 1xx heads, each followed by another head; at most
  // Limits::maxInterimResponses of them per response, after which the parser fails.
  virtual void onResponseHead(ResponseHead &&head) = 0;
  virtual void onResponseBody(std::string_view data) = 0;
  virtual void onResponseEnd() = 0;
};

namespace detail {
class ParserCore;
}

class RequestParser {
public:
  // The sink must outlive the parser.
  RequestParser(const Limits &limits, RequestSink &sink);
  ~RequestParser();
  RequestParser(const RequestParser &) = delete;
  RequestParser &operator=(const RequestParser &) = delete;

  // Feeds bytes split anywhere. Stops with kPaused right after a message ends, with `consumed`
  // counting only that message's bytes; the rest is fed again after resume(). A CONNECT head
  // gives kUpgrade, consumed up to the end of the head.
  FeedResult feed(std::string_view bytes);
  void resume();
  // Called from RequestSink::onRequestHead: the current feed() stops right after this head with
  // kPaused, `consumed` ending at the head, and no body byte is reported until resume(). For a
  // sink that must decide something asynchronously (a proxy password) before the body flows.
  void holdAfterHead();
  // True from a hold until the next feed(), which must then be made even with no bytes (after
  // resume()) so the held message can go on.
  bool holding() const;
  ParseError error() const;
  std::string_view errorReason() const;
  // A message has begun and not yet ended.
  bool midMessage() const;

private:
  std::unique_ptr<detail::ParserCore> core_;
};

class ResponseParser {
public:
  ResponseParser(const Limits &limits, ResponseSink &sink);
  ~ResponseParser();
  ResponseParser(const ResponseParser &) = delete;
  ResponseParser &operator=(const ResponseParser &) = delete;

  // The method of the request being answered, before the response's first byte: a response to
  // HEAD has no body, nor has a 2xx to CONNECT.
  void expectResponseTo(std::string_view method);
  FeedResult feed(std::string_view bytes);
  void resume();
  // The upstream closed. Completes a close-delimited body (onResponseEnd) and returns true;
  // false if a message was cut short or none had begun.
  bool finishOnEof();
  ParseError error() const;
  std::string_view errorReason() const;
  bool midMessage() const;

private:
  std::unique_ptr<detail::ParserCore> core_;
};

} // namespace regcache::proxy::http
