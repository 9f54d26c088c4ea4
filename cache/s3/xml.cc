#include "cache/s3/xml.h"

#include <cstdint>

#include "base/utf8.h"

namespace regcache::cache::s3 {
namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool isNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == ':' || static_cast<unsigned char>(c) >= 0x80;
}

class Reader {
public:
  Reader(std::string_view doc, const XmlLimits &limits) : doc_(doc), limits_(limits) {}

  Result<XmlElement> document() {
    if (!skipProlog()) return failure();
    if (!peek('<')) return bad("no root element"), failure();
    XmlElement root;
    if (!element(root, 1)) return failure();
    if (!skipMisc()) return failure();
    if (at_ != doc_.size()) return bad("content after the root element"), failure();
    return root;
  }

private:
  bool peek(char c) const { return at_ < doc_.size() && doc_[at_] == c; }
  bool startsWith(std::string_view text) const { return doc_.substr(at_, text.size()) == text; }
  void skipSpace() {
    while (at_ < doc_.size() && isSpace(doc_[at_]))
      ++at_;
  }
  bool bad(std::string reason) {
    if (reason_.empty()) reason_ = std::move(reason) + " at byte " + std::to_string(at_);
    return false;
  }
  Failure failure() const { return fail(Error::kUpstream, "bad XML: " + reason_); }

  bool skipComment() { // at "<!--"
    auto end = doc_.find("-->", at_ + 4);
    if (end == std::string_view::npos) return bad("unterminated comment");
    at_ = end + 3;
    return true;
  }
  // Blanks and comments between elements (before or after the root).
  bool skipMisc() {
    for (;;) {
      skipSpace();
      if (!startsWith("<!--")) return true;
      if (!skipComment()) return false;
    }
  }
  bool skipProlog() {
    if (startsWith("\xEF\xBB\xBF")) at_ += 3;
    skipSpace();
    if (startsWith("<?xml")) {
      auto end = doc_.find("?>", at_);
      if (end == std::string_view::npos) return bad("unterminated declaration");
      at_ = end + 2;
    }
    if (!skipMisc()) return false;
    if (startsWith("<!")) return bad("DTDs are not accepted");
    if (startsWith("<?")) return bad("processing instructions are not accepted");
    return true;
  }

  bool name(std::string &out) {
    std::size_t start = at_;
    while (at_ < doc_.size() && isNameChar(doc_[at_]))
      ++at_;
    if (at_ == start) return bad("a name was expected");
    out.assign(doc_.substr(start, at_ - start));
    return true;
  }

  // Attributes are checked for form and dropped: S3 answers carry only xmlns.
  bool attributes(bool &selfClosing) {
    for (;;) {
      skipSpace();
      if (startsWith("/>")) {
        at_ += 2;
        selfClosing = true;
        return true;
      }
      if (peek('>')) {
        ++at_;
        selfClosing = false;
        return true;
      }
      std::string ignored;
      if (!name(ignored)) return false;
      skipSpace();
      if (!peek('=')) return bad("'=' expected after an attribute name");
      ++at_;
      skipSpace();
      if (!peek('"') && !peek('\'')) return bad("a quoted attribute value was expected");
      char quote = doc_[at_++];
      auto end = doc_.find(quote, at_);
      if (end == std::string_view::npos) return bad("unterminated attribute value");
      if (doc_.substr(at_, end - at_).find('<') != std::string_view::npos) {
        return bad("'<' in an attribute value");
      }
      at_ = end + 1;
    }
  }

  bool reference(std::string &text) { // at '&'
    auto end = doc_.find(';', at_);
    if (end == std::string_view::npos || end - at_ > 12) return bad("bad entity reference");
    std::string_view entity = doc_.substr(at_ + 1, end - at_ - 1);
    at_ = end + 1;
    if (entity == "amp") return text += '&', true;
    if (entity == "lt") return text += '<', true;
    if (entity == "gt") return text += '>', true;
    if (entity == "quot") return text += '"', true;
    if (entity == "apos") return text += '\'', true;
    if (entity.size() < 2 || entity[0] != '#') return bad("unknown entity");
    bool hexadecimal = entity[1] == 'x';
    std::string_view digits = entity.substr(hexadecimal ? 2 : 1);
    if (digits.empty()) return bad("empty character reference");
    std::uint32_t code = 0;
    for (char c : digits) {
      int value = -1;
      if (c >= '0' && c <= '9') value = c - '0';
      if (hexadecimal && c >= 'a' && c <= 'f') value = c - 'a' + 10;
      if (hexadecimal && c >= 'A' && c <= 'F') value = c - 'A' + 10;
      if (value < 0) return bad("bad character reference");
      code = code * (hexadecimal ? 16 : 10) + static_cast<std::uint32_t>(value);
      if (code > 0x10FFFF) return bad("character reference out of range");
    }
    if (code == 0 || (code >= 0xD800 && code <= 0xDFFF)) return bad("invalid character reference");
    appendUtf8(text, code);
    return true;
  }

  bool element(XmlElement &out, std::size_t depth) { // at '<'
    if (depth > limits_.maxDepth) return bad("nested too deep");
    if (++elements_ > limits_.maxElements) return bad("too many elements");
    ++at_;
    if (!name(out.name)) return false;
    bool selfClosing = false;
    if (!attributes(selfClosing)) return false;
    if (selfClosing) return true;
    for (;;) {
      if (at_ >= doc_.size()) return bad("unterminated element <" + out.name + ">");
      char c = doc_[at_];
      if (c == '&') {
        if (!reference(out.text)) return false;
      } else if (c != '<') {
        out.text += c;
        ++at_;
      } else if (startsWith("</")) {
        at_ += 2;
        std::string closing;
        if (!name(closing)) return false;
        skipSpace();
        if (!peek('>')) return bad("'>' expected");
        ++at_;
        if (closing != out.name) return bad("</" + closing + "> closes <" + out.name + ">");
        return true;
      } else if (startsWith("<!--")) {
        if (!skipComment()) return false;
      } else if (startsWith("<!") || startsWith("<?")) {
        return bad("CDATA, DTDs and processing instructions are not accepted");
      } else {
        // Blanks between child elements are layout, not text: they must not add up to the limit.
        if (out.text.find_first_not_of(" \t\r\n") == std::string::npos) out.text.clear();
        out.children.emplace_back();
        if (!element(out.children.back(), depth + 1)) return false;
      }
      if (out.text.size() > limits_.maxTextBytes) return bad("text too long in <" + out.name + ">");
    }
  }

  std::string_view doc_;
  const XmlLimits &limits_;
  std::size_t at_ = 0;
  std::size_t elements_ = 0;
  std::string reason_;
};

} // namespace

const XmlElement *XmlElement::child(std::string_view childName) const {
  for (const auto &element : children)
    if (element.name == childName) return &element;
  return nullptr;
}

std::string_view XmlElement::childText(std::string_view childName) const {
  const XmlElement *found = child(childName);
  return found != nullptr ? std::string_view(found->text) : std::string_view();
}

Result<XmlElement> parseXml(std::string_view document, const XmlLimits &limits) {
  return Reader(document, limits).document();
}

} // namespace regcache::cache::s3
