#include "proxy/access/proxy_users.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

#include "base/base64.h"
#include "base/private_file.h"
#include "base/sha256.h"

namespace regcache::proxy {
namespace {

constexpr int kIterations = 600000; // OWASP's 2023 figure for PBKDF2-HMAC-SHA256
constexpr std::size_t kMaxRemembered = 10000;
constexpr std::chrono::minutes kRemember{5};
// Long enough to absorb a client retrying one wrong header in a loop; short enough that nobody
// is locked out (a corrected password is another header anyway).
constexpr std::chrono::seconds kRememberFailure{30};
constexpr std::string_view kTokenPrefix = "token-sha256$";
constexpr std::string_view kPasswordPrefix = "pbkdf2-sha256$";

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

// Whether a PBKDF2 verifier matches `secret`; false for a malformed one.
bool passwordMatches(const std::string &verifier, std::string_view secret) {
  // pbkdf2-sha256$ITERATIONS$SALT$KEY
  std::string_view rest = std::string_view(verifier).substr(kPasswordPrefix.size());
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

} // namespace

PasswordCheck::~PasswordCheck() { OPENSSL_cleanse(secret.data(), secret.size()); }

std::string hashProxySecret(std::string_view secret, bool token, bool admin) {
  std::string flags = admin ? ":admin" : "";
  if (token) return std::string(kTokenPrefix) + sha256Hex(secret) + flags;
  unsigned char salt[16];
  RAND_bytes(salt, sizeof salt);
  std::string saltText(reinterpret_cast<const char *>(salt), sizeof salt);
  auto key = pbkdf2(secret, saltText, kIterations);
  return std::string(kPasswordPrefix) + std::to_string(kIterations) + "$" + encodeBase64(saltText) +
         "$" + encodeBase64({reinterpret_cast<const char *>(key->data()), key->size()}) + flags;
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
    std::string_view rest = line.substr(colon + 1);
    auto flagsAt = rest.find(':');
    std::string verifier(rest.substr(0, flagsAt));
    bool admin = false;
    if (flagsAt != std::string_view::npos) {
      std::string_view flags = rest.substr(flagsAt + 1);
      while (true) {
        auto comma = flags.find(',');
        std::string_view flag = flags.substr(0, comma);
        if (flag != "admin") {
          return fail(Error::kInvalidInput,
                      where + ": unknown flag '" + std::string(flag) + "' (known: admin)");
        }
        admin = true;
        if (comma == std::string_view::npos) break;
        flags.remove_prefix(comma + 1);
      }
    }
    bool token = verifier.rfind(kTokenPrefix, 0) == 0 && verifier.size() == 13 + 64;
    bool password = verifier.rfind(kPasswordPrefix, 0) == 0 &&
                    std::count(verifier.begin(), verifier.end(), '$') == 3;
    if (!token && !password) {
      return fail(Error::kInvalidInput,
                  where + ": the verifier must come from `regcache proxy-auth hash`");
    }
    if (!users.verifiers_.emplace(user, Entry{verifier, admin}).second) {
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

bool ProxyUsers::isAdmin(const std::string &user) const {
  auto found = verifiers_.find(user);
  return found != verifiers_.end() && found->second.admin;
}

ProxyUsers::FastCheck ProxyUsers::checkFast(std::string_view header, const Clock &clock) const {
  FastCheck refused;
  constexpr std::string_view kBasic = "Basic ";
  if (header.size() <= kBasic.size()) return refused;
  for (std::size_t i = 0; i < kBasic.size() - 1; ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) !=
        std::tolower(static_cast<unsigned char>(kBasic[i]))) {
      return refused;
    }
  }
  std::string remembered = sha256Hex(header);
  auto now = clock.now();
  {
    std::lock_guard lock(mutex_);
    auto it = verified_.find(remembered);
    if (it != verified_.end() && now < it->second.second) {
      return FastCheck{FastCheck::Outcome::kProven, it->second.first, nullptr};
    }
    if (auto until = failed_.get(remembered); until && now < *until) return refused;
  }
  std::string_view encoded = header.substr(kBasic.size());
  while (!encoded.empty() && encoded.front() == ' ')
    encoded.remove_prefix(1);
  auto decoded = decodeBase64(encoded);
  if (!decoded) return refused;
  auto colon = decoded->find(':');
  if (colon == std::string::npos) return refused;
  std::string user = decoded->substr(0, colon);
  std::string_view secret = std::string_view(*decoded).substr(colon + 1);
  auto found = verifiers_.find(user);
  FastCheck out = refused;
  if (found == verifiers_.end()) {
    // Nothing to hash: refused at once.
  } else if (found->second.verifier.rfind(kTokenPrefix, 0) == 0) {
    // Tokens are long and random: one SHA-256 is as safe as a slow hash, and stays on the loop.
    if (equalConstantTime(std::string_view(found->second.verifier).substr(kTokenPrefix.size()),
                          sha256Hex(secret))) {
      out = FastCheck{FastCheck::Outcome::kProven, user, nullptr};
      std::lock_guard lock(mutex_);
      if (verified_.size() >= kMaxRemembered) verified_.clear();
      verified_[remembered] = {user, now + kRemember};
    }
  } else {
    auto password = std::make_shared<PasswordCheck>();
    password->headerHash = remembered;
    password->user = user;
    password->verifier = found->second.verifier;
    password->secret = std::string(secret);
    out = FastCheck{FastCheck::Outcome::kNeedsHash, user, std::move(password)};
  }
  OPENSSL_cleanse(decoded->data(), decoded->size());
  return out;
}

bool ProxyUsers::checkSlow(const PasswordCheck &password, const Clock &clock) const {
  bool ok = passwordMatches(password.verifier, password.secret);
  auto now = clock.now();
  std::lock_guard lock(mutex_);
  if (!ok) {
    failed_.put(password.headerHash, now + kRememberFailure);
    return false;
  }
  if (verified_.size() >= kMaxRemembered) verified_.clear();
  verified_[password.headerHash] = {password.user, now + kRemember};
  return true;
}

std::optional<std::string> ProxyUsers::authenticate(std::string_view header,
                                                    const Clock &clock) const {
  FastCheck check = checkFast(header, clock);
  switch (check.outcome) {
  case FastCheck::Outcome::kProven: return check.user;
  case FastCheck::Outcome::kRefused: return std::nullopt;
  case FastCheck::Outcome::kNeedsHash:
    if (checkSlow(*check.password, clock)) return check.user;
    return std::nullopt;
  }
  return std::nullopt;
}

} // namespace regcache::proxy
