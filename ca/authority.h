#pragma once
// The proxy's certificate authority: a series of root generations kept in <data-dir>/ca.
//
//   ca/gen-0001/root.crt   a self-signed root (PEM)
//   ca/gen-0001/root.key   its private key (PEM, 0600)
//   ca/gen-0001/times      created_at, activate_at, retire_at (unix seconds)
//   ca/gen-0002/cross.crt  gen-0002's key and subject, issued by gen-0001's root
//   ca/.lock               serializes rotations between processes
//
// Each generation's state (next, active, retiring, retired) follows from its times and the clock
// (ca/generation.h). An Authority is a snapshot taken at one moment: immutable, shared between
// threads; a running server loads a fresh one to follow rotations.
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/openssl_handles.h"
#include "base/result.h"
#include "ca/generation.h"

namespace regcache::ca {

struct AuthorityOptions {
  std::chrono::hours rootValidity{24 * 3650};
  std::vector<std::string> permittedDns; // nameConstraints for every root; empty: none
};

struct RotateOptions {
  std::chrono::seconds overlap{std::chrono::hours(24 * 7)}; // new root published, not signing
  std::chrono::hours leafValidity{24 * 7};                  // how long old leaves may live on
  bool emergency = false; // switch now and retire the old root at once (a compromise)
};

struct Generation {
  GenerationTimes times;
  RootState state = RootState::kNext;
  X509Ptr root;
  EvpPkeyPtr key;
  X509Ptr cross; // issued by the previous generation; null for the first
};

class Authority {
public:
  // Loads the CA in `dir` as it stands at clock.now(). kNotFound if there is none; kPolicy if a
  // key is readable by group or others; kInvalidInput for corrupt files.
  static Result<std::shared_ptr<const Authority>>
  load(const std::filesystem::path &dir, const Clock &clock = SystemClock::instance());
  // Creates the first generation, active at once. kInvalidInput if a CA exists there.
  static Result<std::shared_ptr<const Authority>> create(const std::filesystem::path &dir,
                                                         const Clock &clock,
                                                         const AuthorityOptions &options = {});
  static Result<std::shared_ptr<const Authority>>
  loadOrCreate(const std::filesystem::path &dir, const Clock &clock,
               const AuthorityOptions &options = {});
  // Adds the next generation: published now, signing after the overlap; the current root is
  // retired once the last leaf it signed has expired. Returns the new generation's number.
  // kInvalidInput if a rotation is already pending.
  static Result<int> rotate(const std::filesystem::path &dir, const Clock &clock,
                            const RotateOptions &options);

  // The active root, which signs new leaves, and its key.
  X509 *signingCert() const { return generations_.at(active_).root.get(); }
  EVP_PKEY *signingKey() const { return generations_.at(active_).key.get(); }
  // Sent after each leaf: the active root's cross-certificate while the root before it is still
  // trusted, so clients holding only that older root verify new leaves.
  const std::vector<X509Ptr> &chainCerts() const { return chain_; }
  // PEM of every root that is not retired, newest first.
  const std::string &bundlePem() const { return bundle_; }
  // When the bundle last changed (a root published or retired), for Last-Modified.
  Clock::TimePoint bundleChangedAt() const { return bundleChangedAt_; }
  // Changes whenever the signing root, the chain or the bundle changes.
  const std::string &identity() const { return identity_; }
  std::optional<Clock::TimePoint> nextTransition() const { return nextTransition_; }
  const std::vector<Generation> &generations() const { return generations_; }
  // False when the active root's nameConstraints exclude `host` (normalized): such hosts get no
  // leaf and are tunnelled. Always true for an unconstrained root.
  bool permits(const std::string &host) const;
  const std::vector<std::string> &permittedDns() const { return permittedDns_; }
  // Every generation with state, fingerprint, validity, and the next transition.
  std::string describe() const;

private:
  Authority() = default;
  void finish(Clock::TimePoint now);

  std::filesystem::path dir_;
  std::vector<Generation> generations_; // by number, oldest first
  std::size_t active_ = 0;
  std::vector<X509Ptr> chain_;
  std::string bundle_;
  std::string identity_;
  Clock::TimePoint bundleChangedAt_;
  std::optional<Clock::TimePoint> nextTransition_;
  std::vector<std::string> permittedDns_;
};

// "AB:CD:..." SHA-256 fingerprint of a certificate.
std::string fingerprintSha256(X509 *cert);

} // namespace regcache::ca
