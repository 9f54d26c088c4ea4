#pragma once
// Optional proxy credentials (--proxy-auth-file). Clients put them in the proxy URL
// (HTTPS_PROXY=http://user:secret@host:3128), which sends Proxy-Authorization: Basic. The file
// has one user per line, never a secret in the clear:
//
//   alice:pbkdf2-sha256$600000$<salt, base64>$<key, base64>    a password (slow hash)
//   ci-runners:token-sha256$<hex SHA-256 of the token>          a long random token
//   ops:pbkdf2-sha256$600000$<salt>$<key>:admin                 an admin (/metrics, /v2/_catalog)
//
// The optional third field lists flags, comma-separated; `admin` is the only one. Lines without
// it are ordinary users, so files written before admins existed keep their meaning, and an
// unknown flag is refused rather than ignored. `regcache proxy-auth hash [--token] [--admin]`
// prints the part after "user:". The file must be mode 0600.
//
// Checking a header is split in two, so the event loop never runs the slow hash: checkFast()
// answers at once for token lines (SHA-256), for a header that verified in the last 5 minutes
// and for one that failed in the last 30 seconds (both remembered by the header's SHA-256);
// a password otherwise needs checkSlow() (600 000 PBKDF2 iterations), which callers run on a
// pool (ProxyAuthPool).
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/lru.h"
#include "base/result.h"

namespace regcache::proxy {

// The slow half of a check: what PBKDF2 needs, taken out of the header. The secret is wiped when
// the object goes.
struct PasswordCheck {
  PasswordCheck() = default;
  PasswordCheck(const PasswordCheck &) = delete;
  PasswordCheck &operator=(const PasswordCheck &) = delete;
  ~PasswordCheck();

  std::string headerHash; // SHA-256 of the whole Proxy-Authorization value: the memo's key
  std::string user;
  std::string verifier; // "pbkdf2-sha256$..."
  std::string secret;
};

class ProxyUsers {
public:
  static Result<ProxyUsers> parse(std::string_view text);
  static Result<ProxyUsers> load(const std::filesystem::path &path);

  ProxyUsers(ProxyUsers &&other) noexcept;
  ProxyUsers &operator=(ProxyUsers &&) = delete;

  struct FastCheck {
    enum class Outcome {
      kProven,    // `user` is proven
      kRefused,   // no user is: malformed, unknown user, wrong token, or a remembered failure
      kNeedsHash, // a password line: run checkSlow(*password), off the event loop
    };
    Outcome outcome = Outcome::kRefused;
    std::string user;
    std::shared_ptr<const PasswordCheck> password; // kNeedsHash only
  };
  // What can be decided without the slow hash. Cheap; thread-safe.
  FastCheck checkFast(std::string_view proxyAuthorization, const Clock &clock) const;
  // Runs PBKDF2 (hundreds of milliseconds): true when the password matches. Remembers the
  // outcome for checkFast (a success for 5 minutes, a failure for 30 seconds). Thread-safe; meant
  // for a pool thread.
  bool checkSlow(const PasswordCheck &password, const Clock &clock) const;

  // Both halves in a row, on the calling thread: the user a Proxy-Authorization value proves, or
  // nothing. For callers that may block (tests, the CLI).
  std::optional<std::string> authenticate(std::string_view proxyAuthorization,
                                          const Clock &clock) const;
  // Whether `user` is marked admin in the file (false for unknown users).
  bool isAdmin(const std::string &user) const;
  std::size_t size() const { return verifiers_.size(); }

private:
  ProxyUsers() = default;

  struct Entry {
    std::string verifier; // "pbkdf2-sha256$..." / "token-sha256$..."
    bool admin = false;
  };
  std::map<std::string, Entry> verifiers_; // by user
  mutable std::mutex mutex_;
  // Header hash -> (user, until when).
  mutable std::map<std::string, std::pair<std::string, Clock::TimePoint>> verified_;
  // Header hash -> until when it is refused without hashing. Bounded: an attacker's guesses only
  // push out older guesses, never a verified header.
  mutable LruCache<std::string, Clock::TimePoint> failed_{10000};
};

// The verifier for a secret: a salted PBKDF2 hash for a password, SHA-256 for a token; with
// `admin`, followed by ":admin".
std::string hashProxySecret(std::string_view secret, bool token, bool admin = false);

} // namespace regcache::proxy
