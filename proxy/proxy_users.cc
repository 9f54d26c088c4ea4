#include "proxy/proxy_users.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

#include "base/base64.h"
#include "base/private_file.h"
#include "cache/digest.h"

namespace regcache::proxy {
namespace {

constexpr int kIterations = 600000; // OWASP's 2023 figure for PBKDF2-HMAC-SHA256
constexpr std::size_t kMaxRemembered = 10000;
constexpr std::chrono::minutes kRemember{5};

std::optional<std::vector<unsigned char>> pbkdf2(std::string_view secret, std::string_view salt,
                                                 int iterations) {
  std::vector<unsigned char> key(32);
  if (PKCS5_PBKDF2_HMAC(secret.data(), static_cast<int>(secret.size()),
                        reinterpret_cast<const unsigned char *>(salt.data()),
                        static_cast<int>(salt.size()), iterations, EVP_sha256(),
                        static_cast<int>(key.size()), key.data()) != 1) {
    return std::nullopt;
  }
  return key;
}

bool equalConstantTime(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace

std::string hashProxySecret(std::string_view secret, bool token) {
  if (token) return "token-sha256$" + cache::sha256Hex(secret);
  unsigned char salt[16];
  RAND_bytes(salt, sizeof salt);
  std::string saltText(reinterpret_cast<const char *>(salt), sizeof salt);
  auto key = pbkdf2(secret, saltText, kIterations);
  return "pbkdf2-sha256$" + std::to_string(kIterations) + "$" + encodeBase64(saltText) + "$" +
         encodeBase64({reinterpret_cast<const char *>(key->data()), key->size()});
}

Result<ProxyUsers> ProxyUsers::parse(std::string_view text) {
  ProxyUsers users;
  std::size_t lineNumber = 0;
  while (!text.empty()) {
    auto newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    ++lineNumber;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
      line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    auto colon = line.find(':');
    std::string where = "proxy auth line " + std::to_string(lineNumber);
    if (colon == std::string_view::npos || colon == 0) {
      return fail(Error::kInvalidInput, where + ": expected user:verifier");
    }
    std::string user(line.substr(0, colon));
    std::string verifier(line.substr(colon + 1));
    bool token = verifier.rfind("token-sha256$", 0) == 0 && verifier.size() == 13 + 64;
    bool password = verifier.rfind("pbkdf2-sha256$", 0) == 0 &&
                    std::count(verifier.begin(), verifier.end(), '$') == 3;
    if (!token && !password) {
      return fail(Error::kInvalidInput,
                  where + ": the verifier must come from `regcache proxy-auth hash`");
    }
    if (!users.verifiers_.emplace(user, verifier).second) {
      return fail(Error::kInvalidInput, where + ": user " + user + " listed twice");
    }
  }
  return users;
}

Result<ProxyUsers> ProxyUsers::load(const std::filesystem::path &path) {
  auto text = readPrivateFile(path);
  if (!text.ok()) return text.failure();
  return parse(text.value());
}

ProxyUsers::ProxyUsers(ProxyUsers &&other) noexcept : verifiers_(std::move(other.verifiers_)) {}

bool ProxyUsers::verify(const std::string &verifier, std::string_view secret) const {
  if (verifier.rfind("token-sha256$", 0) == 0) {
    return equalConstantTime(verifier.substr(13), cache::sha256Hex(secret));
  }
  // pbkdf2-sha256$ITERATIONS$SALT$KEY
  std::string_view rest = std::string_view(verifier).substr(14);
  auto first = rest.find('$');
  auto second = rest.find('$', first + 1);
  int iterations = 0;
  auto digits = rest.substr(0, first);
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), iterations);
  if (error != std::errc() || iterations <= 0 || iterations > 10000000) return false;
  auto salt = decodeBase64(rest.substr(first + 1, second - first - 1));
  auto expected = decodeBase64(rest.substr(second + 1));
  if (!salt || !expected) return false;
  auto key = pbkdf2(secret, *salt, iterations);
  return key &&
         equalConstantTime(
             std::string_view(reinterpret_cast<const char *>(key->data()), key->size()), *expected);
}

std::optional<std::string> ProxyUsers::authenticate(std::string_view header,
                                                    const Clock &clock) const {
  constexpr std::string_view kBasic = "Basic ";
  if (header.size() <= kBasic.size()) return std::nullopt;
  for (std::size_t i = 0; i < kBasic.size() - 1; ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) !=
        std::tolower(static_cast<unsigned char>(kBasic[i]))) {
      return std::nullopt;
    }
  }
  std::string remembered = cache::sha256Hex(header);
  auto now = clock.now();
  {
    std::lock_guard lock(mutex_);
    auto it = verified_.find(remembered);
    if (it != verified_.end() && now < it->second.second) return it->second.first;
  }
  std::string_view encoded = header.substr(kBasic.size());
  while (!encoded.empty() && encoded.front() == ' ')
    encoded.remove_prefix(1);
  auto decoded = decodeBase64(encoded);
  if (!decoded) return std::nullopt;
  auto colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string user = decoded->substr(0, colon);
  auto found = verifiers_.find(user);
  if (found == verifiers_.end() ||
      !verify(found->second, std::string_view(*decoded).substr(colon + 1))) {
    return std::nullopt;
  }
  std::lock_guard lock(mutex_);
  if (verified_.size() >= kMaxRemembered) verified_.clear();
  verified_[remembered] = {user, now + kRemember};
  return user;
}

} // namespace regcache::proxy
