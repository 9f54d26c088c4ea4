#include "base/base64.h"

#include <openssl/evp.h>

#include <vector>

namespace regcache {

std::string encodeBase64(std::string_view data) {
  std::vector<unsigned char> out(4 * ((data.size() + 2) / 3) + 1);
  int length = EVP_EncodeBlock(out.data(), reinterpret_cast<const unsigned char *>(data.data()),
                               static_cast<int>(data.size()));
  return std::string(reinterpret_cast<const char *>(out.data()), static_cast<std::size_t>(length));
}

std::optional<std::string> decodeBase64(std::string_view text, std::size_t maxLength) {
  if (text.empty() || text.size() % 4 != 0 || text.size() > maxLength) return std::nullopt;
  std::vector<unsigned char> out(text.size() / 4 * 3 + 1);
  int length = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char *>(text.data()),
                               static_cast<int>(text.size()));
  if (length < 0) return std::nullopt;
  std::size_t padding = 0;
  for (std::size_t i = text.size(); i > 0 && text[i - 1] == '='; --i)
    ++padding;
  if (padding > 2) return std::nullopt;
  return std::string(reinterpret_cast<const char *>(out.data()),
                     static_cast<std::size_t>(length) - padding);
}

std::optional<std::string> decodeBase64Url(std::string_view text, std::size_t maxLength) {
  if (text.size() % 4 == 1 || text.size() > maxLength) return std::nullopt;
  std::string standard;
  standard.reserve(text.size() + 3);
  for (char c : text) {
    bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!plain && c != '-' && c != '_') return std::nullopt;
    standard += c == '-' ? '+' : c == '_' ? '/' : c;
  }
  if (standard.empty()) return std::string();
  standard.append((4 - standard.size() % 4) % 4, '=');
  return decodeBase64(standard, maxLength + 3);
}

} // namespace regcache
