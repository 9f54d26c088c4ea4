#pragma once
// Base64 (RFC 4648) through OpenSSL's block coder, for the few places a peer's or a file's
// text is encoded: Basic credentials, password hashes, JWT payloads.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace regcache {

std::string encodeBase64(std::string_view data);

// Padded standard alphabet; nothing for invalid input or input longer than `maxLength`.
std::optional<std::string> decodeBase64(std::string_view text, std::size_t maxLength = 8192);

// The URL-safe alphabet without padding (section 5), as JWS uses it (RFC 7515 section 2).
std::optional<std::string> decodeBase64Url(std::string_view text, std::size_t maxLength = 8192);

} // namespace regcache
