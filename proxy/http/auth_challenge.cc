#include "proxy/http/auth_challenge.h"

#include <cctype>

namespace regcache::proxy::http {
namespace {

bool isTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char &c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

class Cursor {
public:
  explicit Cursor(std::string_view text) : text_(text) {}
  bool done() const { return pos_ >= text_.size(); }
  char peek() const { return done() ? '\0' : text_[pos_]; }
  void skipSpace() {
    while (!done() && (peek() == ' ' || peek() == '\t'))
      ++pos_;
  }
  bool consume(char c) {
    if (peek() != c || done()) return false;
    ++pos_;
    return true;
  }
  std::string_view token() {
    std::size_t start = pos_;
    while (!done() && isTokenChar(peek()))
      ++pos_;
    return text_.substr(start, pos_ - start);
  }
  std::optional<std::string> quoted() {
    if (!consume('"')) return std::nullopt;
    std::string value;
    while (!done()) {
      char c = text_[pos_++];
      if (c == '"') return value;
      if (c == '\\') {
        if (done()) return std::nullopt;
        c = text_[pos_++];
      }
      value += c;
    }
    return std::nullopt; // unterminated
  }
  std::size_t position() const { return pos_; }
  void rewind(std::size_t to) { pos_ = to; }

private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

} // namespace

std::optional<std::string> AuthChallenge::param(const std::string &name) const {
  auto it = params.find(name);
  if (it == params.end()) return std::nullopt;
  return it->second;
}

std::vector<AuthChallenge> parseAuthChallenges(std::string_view header) {
  std::vector<AuthChallenge> challenges;
  Cursor in(header);
  for (;;) {
    in.skipSpace();
    while (in.consume(','))
      in.skipSpace();
    if (in.done()) break;
    std::string_view scheme = in.token();
    if (scheme.empty()) break;
    AuthChallenge challenge;
    challenge.scheme = lower(scheme);
    // Parameters: name = token|quoted, separated by commas. A name followed by anything but '='
    // starts the next challenge.
    for (;;) {
      in.skipSpace();
      std::size_t mark = in.position();
      std::string_view name = in.token();
      in.skipSpace();
      if (name.empty() || !in.consume('=')) {
        in.rewind(mark);
        break;
      }
      in.skipSpace();
      if (in.peek() == '=' || in.done() || in.peek() == ',') { // token68 ("abc==")
        while (in.consume('='))
          ;
        challenge.token68 = std::string(header.substr(mark, in.position() - mark));
        break;
      }
      std::optional<std::string> value;
      if (in.peek() == '"') {
        value = in.quoted();
        if (!value) return challenges; // unterminated quote: nothing after it is trustworthy
      } else {
        value = std::string(in.token());
      }
      challenge.params[lower(name)] = std::move(*value);
      in.skipSpace();
      if (!in.consume(',')) break;
    }
    challenges.push_back(std::move(challenge));
    in.skipSpace();
    if (!in.done() && in.peek() != ',' && !isTokenChar(in.peek())) break;
  }
  return challenges;
}

} // namespace regcache::proxy::http
