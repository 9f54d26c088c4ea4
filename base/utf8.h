#pragma once
// UTF-8 encoding of one code point, for the small text parsers (JSON \u escapes, XML character
// references) that decode them.
#include <cstdint>
#include <string>

namespace regcache {

// Appends `code` (at most 0x10FFFF; callers reject surrogates) to `out` in UTF-8.
void appendUtf8(std::string &out, std::uint32_t code);

} // namespace regcache
