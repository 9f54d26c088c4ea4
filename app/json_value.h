#pragma once
// A small JSON reader for documents from registries (manifests, image indexes): a tree of
// values, parsed with limits on size and depth, because the bytes are a stranger's. Not for
// writing JSON (base/json_text.h does that).
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace regcache::app {

class JsonValue {
public:
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };

  Kind kind() const { return kind_; }
  // Member `key` of an object (of repeated keys the last, as Go reads them); nullptr when this
  // is no object or has no such member.
  const JsonValue *member(std::string_view key) const;
  // The string, or nothing when this is no string.
  std::optional<std::string> string() const;
  // The number when it is a non-negative integer that fits, else nothing.
  std::optional<std::uint64_t> unsignedInteger() const;
  // The elements of an array; empty for any other kind.
  const std::vector<JsonValue> &elements() const { return elements_; }

private:
  friend class JsonReader;
  Kind kind_ = Kind::kNull;
  std::string text_; // a string's value, or a number's literal
  bool boolean_ = false;
  std::vector<JsonValue> elements_;
  std::map<std::string, JsonValue, std::less<>> members_;
};

// Parses one JSON document (surrounding blanks allowed). Fails with kInvalidInput on malformed
// input, or kTooLarge past 64 levels of nesting.
Result<JsonValue> parseJson(std::string_view text);

} // namespace regcache::app
