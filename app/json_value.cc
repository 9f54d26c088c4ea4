#include "app/json_value.h"

#include <charconv>

#include "base/utf8.h"

namespace regcache::app {

const JsonValue *JsonValue::member(std::string_view key) const {
  if (kind_ != Kind::kObject) return nullptr;
  auto found = members_.find(key);
  return found == members_.end() ? nullptr : &found->second;
}

std::optional<std::string> JsonValue::string() const {
  if (kind_ != Kind::kString) return std::nullopt;
  return text_;
}

std::optional<std::uint64_t> JsonValue::unsignedInteger() const {
  if (kind_ != Kind::kNumber) return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text_.data(), text_.data() + text_.size(), value);
  if (ec != std::errc() || end != text_.data() + text_.size()) return std::nullopt;
  return value;
}

// Recursive descent; every function leaves pos_ after what it read, or sets failed_.
class JsonReader {
public:
  explicit JsonReader(std::string_view text) : text_(text) {}

  Result<JsonValue> document() {
    JsonValue value;
    skipBlanks();
    if (!readValue(value, 0)) return failure_;
    skipBlanks();
    if (pos_ != text_.size()) return fail(Error::kInvalidInput, "trailing bytes after the JSON");
    return value;
  }

private:
  static constexpr int kMaxDepth = 64;

  bool error(Error code, std::string detail) {
    failure_ = fail(code, std::move(detail) + " at byte " + std::to_string(pos_));
    return false;
  }
  void skipBlanks() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return error(Error::kInvalidInput, "bad literal");
    pos_ += word.size();
    return true;
  }

  bool readValue(JsonValue &out, int depth) {
    if (depth >= kMaxDepth) return error(Error::kTooLarge, "JSON nested too deep");
    if (pos_ >= text_.size()) return error(Error::kInvalidInput, "JSON ends early");
    char c = text_[pos_];
    switch (c) {
    case '{': return readObject(out, depth);
    case '[': return readArray(out, depth);
    case '"': out.kind_ = JsonValue::Kind::kString; return readString(out.text_);
    case 't':
      out.kind_ = JsonValue::Kind::kBool;
      out.boolean_ = true;
      return literal("true");
    case 'f': out.kind_ = JsonValue::Kind::kBool; return literal("false");
    case 'n': out.kind_ = JsonValue::Kind::kNull; return literal("null");
    default: return readNumber(out);
    }
  }

  bool readNumber(JsonValue &out) {
    std::size_t start = pos_;
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    std::size_t digits = pos_;
    while (pos_ < text_.size() &&
           std::string_view("0123456789.eE+-").find(text_[pos_]) != std::string_view::npos) {
      ++pos_;
    }
    if (pos_ == digits || text_[digits] < '0' || text_[digits] > '9') {
      return error(Error::kInvalidInput, "unexpected character");
    }
    out.kind_ = JsonValue::Kind::kNumber;
    out.text_ = std::string(text_.substr(start, pos_ - start));
    return true;
  }

  bool readHex4(unsigned &code) {
    if (pos_ + 4 > text_.size()) return error(Error::kInvalidInput, "short \\u escape");
    auto [end, ec] = std::from_chars(text_.data() + pos_, text_.data() + pos_ + 4, code, 16);
    if (ec != std::errc() || end != text_.data() + pos_ + 4) {
      return error(Error::kInvalidInput, "bad \\u escape");
    }
    pos_ += 4;
    return true;
  }

  bool readString(std::string &out) {
    ++pos_; // the opening quote
    while (pos_ < text_.size()) {
      char c = text_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) {
        return error(Error::kInvalidInput, "control byte in a string");
      }
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) break;
      char e = text_[pos_++];
      switch (e) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        unsigned code = 0;
        if (!readHex4(code)) return false;
        // A lone surrogate half is kept as U+FFFD rather than refused: it names nothing we use.
        if (code >= 0xD800 && code < 0xDC00 && text_.substr(pos_, 2) == "\\u") {
          pos_ += 2;
          unsigned low = 0;
          if (!readHex4(low)) return false;
          code = (low >= 0xDC00 && low < 0xE000)
                     ? 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                     : 0xFFFD;
        } else if (code >= 0xD800 && code < 0xE000) {
          code = 0xFFFD;
        }
        appendUtf8(out, code);
        break;
      }
      default: return error(Error::kInvalidInput, "bad escape");
      }
    }
    return error(Error::kInvalidInput, "unterminated string");
  }

  bool readArray(JsonValue &out, int depth) {
    out.kind_ = JsonValue::Kind::kArray;
    ++pos_;
    skipBlanks();
    if (pos_ < text_.size() && text_[pos_] == ']') {
      ++pos_;
      return true;
    }
    while (true) {
      skipBlanks();
      JsonValue element;
      if (!readValue(element, depth + 1)) return false;
      out.elements_.push_back(std::move(element));
      skipBlanks();
      if (pos_ >= text_.size()) return error(Error::kInvalidInput, "unterminated array");
      char c = text_[pos_++];
      if (c == ']') return true;
      if (c != ',') return error(Error::kInvalidInput, "expected , or ]");
    }
  }

  bool readObject(JsonValue &out, int depth) {
    out.kind_ = JsonValue::Kind::kObject;
    ++pos_;
    skipBlanks();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      ++pos_;
      return true;
    }
    while (true) {
      skipBlanks();
      if (pos_ >= text_.size() || text_[pos_] != '"') {
        return error(Error::kInvalidInput, "expected a member name");
      }
      std::string key;
      if (!readString(key)) return false;
      skipBlanks();
      if (pos_ >= text_.size() || text_[pos_] != ':')
        return error(Error::kInvalidInput, "expected :");
      ++pos_;
      skipBlanks();
      JsonValue value;
      if (!readValue(value, depth + 1)) return false;
      out.members_.insert_or_assign(std::move(key), std::move(value));
      skipBlanks();
      if (pos_ >= text_.size()) return error(Error::kInvalidInput, "unterminated object");
      char c = text_[pos_++];
      if (c == '}') return true;
      if (c != ',') return error(Error::kInvalidInput, "expected , or }");
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  Failure failure_{Error::kInvalidInput, {}};
};

Result<JsonValue> parseJson(std::string_view text) { return JsonReader(text).document(); }

} // namespace regcache::app
