#pragma once
// Optional proxy credentials (--proxy-auth-file). Clients put them in the proxy URL
// (HTTPS_PROXY=http://user:secret@host:3128), which sends Proxy-Authorization: Basic. The file
// has one user per line, never a secret in the clear:
//
//   alice:pbkdf2-sha256$600000$<salt, base64>$<key, base64>    a password (slow hash)
//   ci-runners:token-sha256$<hex SHA-256 of the token>          a long random token
//
// `regcache proxy-auth hash [--token]` prints the part after "user:". The file must be mode 0600.
// A header that verified once is remembered for 5 minutes (by its SHA-256), so a slow hash is not
// paid on every CONNECT.
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/result.h"

namespace regcache::proxy {

class ProxyUsers {
public:
  static Result<ProxyUsers> parse(std::string_view text);
  static Result<ProxyUsers> load(const std::filesystem::path &path);

  ProxyUsers(ProxyUsers &&other) noexcept;
  ProxyUsers &operator=(ProxyUsers &&) = delete;

  // The user a Proxy-Authorization value proves, or nothing.
  std::optional<std::string> authenticate(std::string_view proxyAuthorization,
                                          const Clock &clock) const;
  std::size_t size() const { return verifiers_.size(); }

private:
  ProxyUsers() = default;
  bool verify(const std::string &verifier, std::string_view secret) const;

  std::map<std::string, std::string> verifiers_; // user -> "pbkdf2-sha256$..." / "token-sha256$..."
  mutable std::mutex mutex_;
  mutable std::map<std::string, std::pair<std::string, Clock::TimePoint>> verified_;
};

// The verifier for a secret: a salted PBKDF2 hash for a password, SHA-256 for a token.
std::string hashProxySecret(std::string_view secret, bool token);

} // namespace regcache::proxy
