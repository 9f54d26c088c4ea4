#include "proxy/http/parser.h"

#include <llhttp.h>

#include <cctype>
#include <string>

namespace regcache::proxy::http {

int statusFor(ParseError error) {
  switch (error) {
  case ParseError::kRequestLineTooLong: return 414;
  case ParseError::kHeadersTooLarge:
  case ParseError::kTooManyHeaders: return 431;
  case ParseError::kNotHttp1: return 505;
  default: return 400;
  }
}

const char *describe(ParseError error) {
  switch (error) {
  case ParseError::kNone: return "no error";
  case ParseError::kMalformed: return "malformed HTTP message";
  case ParseError::kRequestLineTooLong: return "request line too long";
  case ParseError::kHeadersTooLarge: return "header section too large";
  case ParseError::kTooManyHeaders: return "too many header fields";
  case ParseError::kTooManyInterimResponses: return "too many interim (1xx) responses";
  case ParseError::kUnexpectedEof: return "connection closed mid-message";
  case ParseError::kNotHttp1: return "only HTTP/1.0 and HTTP/1.1 requests are accepted";
  }
  return "unknown error";
}

namespace detail {

// One llhttp instance plus the head being built. Requests and responses differ only in which
// sink hears about it and in a few rules at the end of the head.
class ParserCore {
public:
  ParserCore(llhttp_type_t type, const Limits &limits, RequestSink *requests,
             ResponseSink *responses)
      : limits_(limits), requests_(requests), responses_(responses) {
    llhttp_settings_init(&settings_);
    settings_.on_message_begin = &ParserCore::onMessageBegin;
    settings_.on_method = &ParserCore::onMethod;
    settings_.on_url = &ParserCore::onUrl;
    settings_.on_status = &ParserCore::onStatus;
    settings_.on_header_field = &ParserCore::onHeaderField;
    settings_.on_header_field_complete = &ParserCore::onHeaderFieldComplete;
    settings_.on_header_value = &ParserCore::onHeaderValue;
    settings_.on_header_value_complete = &ParserCore::onHeaderValueComplete;
    settings_.on_headers_complete = &ParserCore::onHeadersComplete;
    settings_.on_body = &ParserCore::onBody;
    settings_.on_message_complete = &ParserCore::onMessageComplete;
    llhttp_init(&parser_, type, &settings_);
    parser_.data = this;
  }

  FeedResult feed(std::string_view bytes) {
    if (error_ != ParseError::kNone) return {0, ParseStatus::kError};
    // After a hold, llhttp still has to finish the message's head (its end, for a bodiless
    // request, or the upgrade): that takes a call even with no byte to give.
    if (bytes.empty() && !held_) return {0, ParseStatus::kNeedMore};
    held_ = false;
    static constexpr char kNothing = 0;
    const char *data = bytes.empty() ? &kNothing : bytes.data();
    llhttp_errno_t rc = llhttp_execute(&parser_, data, bytes.size());
    auto consumedUpToPause = [&] {
      const char *pos = llhttp_get_error_pos(&parser_);
      return pos != nullptr ? static_cast<std::size_t>(pos - data) : bytes.size();
    };
    switch (rc) {
    case HPE_OK: return {bytes.size(), ParseStatus::kNeedMore};
    case HPE_PAUSED: return {consumedUpToPause(), ParseStatus::kPaused};
    case HPE_PAUSED_UPGRADE: return {consumedUpToPause(), ParseStatus::kUpgrade};
    default:
      if (error_ == ParseError::kNone) error_ = ParseError::kMalformed;
      reason_ = llhttp_get_error_reason(&parser_) ? llhttp_get_error_reason(&parser_) : "";
      // A limit failed in on_headers_complete: llhttp reports only "User callback error".
      if (rc == HPE_CB_HEADERS_COMPLETE && error_ != ParseError::kMalformed) {
        reason_ = describe(error_);
      }
      if (reason_.empty()) reason_ = llhttp_errno_name(rc);
      return {consumedUpToPause(), ParseStatus::kError};
    }
  }

  void resume() {
    if (llhttp_get_errno(&parser_) == HPE_PAUSED) llhttp_resume(&parser_);
  }

  bool finishOnEof() {
    if (!inMessage_) return false;
    bool closeDelimited = llhttp_message_needs_eof(&parser_) == 1;
    if (!closeDelimited) {
      error_ = ParseError::kUnexpectedEof;
      return false;
    }
    llhttp_errno_t rc = llhttp_finish(&parser_);
    if (rc != HPE_OK && rc != HPE_PAUSED) {
      error_ = ParseError::kUnexpectedEof;
      return false;
    }
    return true;
  }

  void holdAfterHead() { holdAfterHead_ = true; }
  bool holding() const { return held_; }

  void expectResponseTo(std::string_view method) {
    requestWasHead_ = method == "HEAD";
    requestWasConnect_ = method == "CONNECT";
  }

  ParseError error() const { return error_; }
  std::string_view errorReason() const { return reason_; }
  bool midMessage() const { return inMessage_; }

private:
  static ParserCore &self(llhttp_t *p) { return *static_cast<ParserCore *>(p->data); }

  int fail(ParseError error, const char *reason) {
    error_ = error;
    llhttp_set_error_reason(&parser_, reason);
    return HPE_USER;
  }

  static int onMessageBegin(llhttp_t *p) {
    auto &s = self(p);
    s.inMessage_ = true;
    s.method_.clear();
    s.target_.clear();
    s.reason_.clear();
    s.field_.clear();
    s.value_.clear();
    s.headers_ = Headers();
    s.lineBytes_ = 0;
    s.headerBytes_ = 0;
    return 0;
  }

  // Appends a piece of the start line to `into`, within the start-line limit.
  int appendStartLine(std::string &into, const char *at, size_t length) {
    lineBytes_ += length;
    if (lineBytes_ > limits_.maxRequestLine) {
      return requests_ != nullptr ? fail(ParseError::kRequestLineTooLong, "request line too long")
                                  : fail(ParseError::kHeadersTooLarge, "status line too long");
    }
    into.append(at, length);
    return 0;
  }

  static int onMethod(llhttp_t *p, const char *at, size_t length) {
    return self(p).appendStartLine(self(p).method_, at, length);
  }
  static int onUrl(llhttp_t *p, const char *at, size_t length) {
    return self(p).appendStartLine(self(p).target_, at, length);
  }
  static int onStatus(llhttp_t *p, const char *at, size_t length) {
    return self(p).appendStartLine(self(p).reason_, at, length);
  }

  int countHeaderBytes(size_t length) {
    headerBytes_ += length;
    if (headerBytes_ > limits_.maxHeaderBytes) {
      return fail(ParseError::kHeadersTooLarge, "header section too large");
    }
    return 0;
  }

  static int onHeaderField(llhttp_t *p, const char *at, size_t length) {
    auto &s = self(p);
    if (int rc = s.countHeaderBytes(length)) return rc;
    s.field_.append(at, length);
    return 0;
  }

  static bool isTokenChar(char c) {
    static constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
    return std::isalnum(static_cast<unsigned char>(c)) ||
           kSpecials.find(c) != std::string_view::npos;
  }

  static int onHeaderFieldComplete(llhttp_t *p) {
    auto &s = self(p);
    // "Host : x" is a classic smuggling vector (RFC 9112 5.1): names are tokens, nothing else.
    for (char c : s.field_) {
      if (!isTokenChar(c)) return s.fail(ParseError::kMalformed, "invalid header field name");
    }
    if (s.headers_.size() >= s.limits_.maxHeaderCount) {
      return s.fail(ParseError::kTooManyHeaders, "too many header fields");
    }
    return s.countHeaderBytes(4); // ": " and CRLF
  }

  static int onHeaderValue(llhttp_t *p, const char *at, size_t length) {
    auto &s = self(p);
    if (int rc = s.countHeaderBytes(length)) return rc;
    s.value_.append(at, length);
    return 0;
  }

  static int onHeaderValueComplete(llhttp_t *p) {
    auto &s = self(p);

    s.headers_.add(std::move(s.field_), std::move(s.value_));
    s.field_.clear();
    s.value_.clear();
    return 0;
  }

  static int onHeadersComplete(llhttp_t *p) {
    auto &s = self(p);
    bool chunked = (p->flags & F_CHUNKED) != 0;
    std::optional<std::uint64_t> length;
    if ((p->flags & F_CONTENT_LENGTH) != 0) length = p->content_length;
    bool keepAlive = llhttp_should_keep_alive(p) == 1;
    // What requests and responses share: version, framing and headers.
    auto common = [&](auto &head) {
      head.versionMajor = p->http_major;
      head.versionMinor = p->http_minor;
      head.keepAlive = keepAlive;
      head.chunked = chunked;
      head.contentLength = length;
      head.headers = std::move(s.headers_);
    };
    if (s.requests_ != nullptr) {
      // llhttp takes a request line without a version as HTTP/0.9, and the PRI method (HTTP/2's
      // preface) with any version. Forwarded as HTTP/1.1, upstream's parser would read either
      // differently from this one (fuzz_forwarding found PRI): refuse both here.
      if (p->http_major != 1 || p->method == HTTP_PRI) {
        return s.fail(ParseError::kNotHttp1, describe(ParseError::kNotHttp1));
      }
      RequestHead head;
      head.method = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
      head.target = std::move(s.target_);
      common(head);
      head.expectContinue = head.headers.hasToken("Expect", "100-continue");
      s.requests_->onRequestHead(std::move(head));
      if (s.holdAfterHead_) {
        s.holdAfterHead_ = false;
        s.held_ = true;
        return HPE_PAUSED; // llhttp resumes after the head: body, message end or upgrade
      }
      return 0;
    }
    ResponseHead head;
    head.status = p->status_code;
    head.reason = std::move(s.reason_);
    common(head);
    int status = head.status;
    s.interim_ = status >= 100 && status < 200 && status != 101;
    if (s.interim_ && ++s.interimHeads_ > s.limits_.maxInterimResponses) {
      return s.fail(ParseError::kTooManyInterimResponses, "too many interim (1xx) responses");
    }
    if (!s.interim_) s.interimHeads_ = 0; // the final head: the next response starts afresh
    s.responses_->onResponseHead(std::move(head));
    if (s.interim_) return 0;
    if (s.requestWasConnect_ && status >= 200 && status < 300) return 2; // a tunnel follows
    if (s.requestWasHead_) return 1; // no body, whatever the length says
    return 0;
  }

  static int onBody(llhttp_t *p, const char *at, size_t length) {
    auto &s = self(p);
    if (s.requests_ != nullptr) {
      s.requests_->onRequestBody(std::string_view(at, length));
    } else {
      s.responses_->onResponseBody(std::string_view(at, length));
    }
    return 0;
  }

  static int onMessageComplete(llhttp_t *p) {
    auto &s = self(p);
    if (s.responses_ != nullptr && s.interim_) {
      // A 1xx is not the answer: keep parsing for the final response.
      s.interim_ = false;
      return 0;
    }
    s.inMessage_ = false;
    if (s.requests_ != nullptr) {
      s.requests_->onRequestEnd();
    } else {
      s.responses_->onResponseEnd();
    }
    // CONNECT and Upgrade stop with HPE_PAUSED_UPGRADE on their own.
    if (p->upgrade != 0) return 0;
    return HPE_PAUSED;
  }

  const Limits limits_;
  RequestSink *requests_;
  ResponseSink *responses_;
  llhttp_settings_t settings_{};
  llhttp_t parser_{};

  bool inMessage_ = false;
  bool interim_ = false;
  std::size_t interimHeads_ = 0; // 1xx heads seen before the current response's final one
  bool requestWasHead_ = false;
  bool requestWasConnect_ = false;
  bool holdAfterHead_ = false;
  bool held_ = false; // stopped after a head by a hold; the next feed() goes on even if empty
  ParseError error_ = ParseError::kNone;
  std::string reason_; // error reason, or the response's reason phrase while parsing it
  std::string method_;
  std::string target_;
  std::string field_;
  std::string value_;
  Headers headers_;
  std::size_t lineBytes_ = 0;
  std::size_t headerBytes_ = 0;
};

} // namespace detail

RequestParser::RequestParser(const Limits &limits, RequestSink &sink)
    : core_(std::make_unique<detail::ParserCore>(HTTP_REQUEST, limits, &sink, nullptr)) {}
RequestParser::~RequestParser() = default;
FeedResult RequestParser::feed(std::string_view bytes) { return core_->feed(bytes); }
void RequestParser::resume() { core_->resume(); }
void RequestParser::holdAfterHead() { core_->holdAfterHead(); }
bool RequestParser::holding() const { return core_->holding(); }
ParseError RequestParser::error() const { return core_->error(); }
std::string_view RequestParser::errorReason() const { return core_->errorReason(); }
bool RequestParser::midMessage() const { return core_->midMessage(); }

ResponseParser::ResponseParser(const Limits &limits, ResponseSink &sink)
    : core_(std::make_unique<detail::ParserCore>(HTTP_RESPONSE, limits, nullptr, &sink)) {}
ResponseParser::~ResponseParser() = default;
void ResponseParser::expectResponseTo(std::string_view method) { core_->expectResponseTo(method); }
FeedResult ResponseParser::feed(std::string_view bytes) { return core_->feed(bytes); }
void ResponseParser::resume() { core_->resume(); }
bool ResponseParser::finishOnEof() { return core_->finishOnEof(); }
ParseError ResponseParser::error() const { return core_->error(); }
std::string_view ResponseParser::errorReason() const { return core_->errorReason(); }
bool ResponseParser::midMessage() const { return core_->midMessage(); }

} // namespace regcache::proxy::http
