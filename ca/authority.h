#pragma once
// The proxy's certificate authority, kept in <data-dir>/ca:
//
//   ca/gen-0001/root.crt    the self-signed root (PEM)
//   ca/gen-0001/root.key    its private key (PEM, mode 0600)
//   ca/gen-0001/state       "active" (rotation adds next, retiring and retired generations)
//
// The directory is 0700. An Authority is immutable once loaded and shared between threads.
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/openssl_handles.h"
#include "base/result.h"

namespace regcache::ca {

struct AuthorityOptions {
  std::string commonName = "regcache root CA";
  std::chrono::hours rootValidity{24 * 3650};
};

class Authority {
public:
  // Loads the CA in `dir`. kNotFound if there is none; kPolicy if a key file is readable by group
  // or others; kInvalidInput if a file is corrupt.
  static Result<std::shared_ptr<const Authority>> load(const std::filesystem::path &dir);
  // Creates a new root in `dir`. kInvalidInput if a CA already exists there.
  static Result<std::shared_ptr<const Authority>> create(const std::filesystem::path &dir,
                                                         const Clock &clock,
                                                         const AuthorityOptions &options = {});
  // load(), or create() when there is none.
  static Result<std::shared_ptr<const Authority>>
  loadOrCreate(const std::filesystem::path &dir, const Clock &clock,
               const AuthorityOptions &options = {});

  // The root that signs new leaves, and its key. Owned by the Authority.
  X509 *signingCert() const { return root_.get(); }
  EVP_PKEY *signingKey() const { return key_.get(); }
  // Certificates sent after the leaf (none yet; rotation adds a cross-certificate).
  const std::vector<X509Ptr> &chainCerts() const { return chain_; }
  // PEM of every root clients must trust, newest first.
  std::string bundlePem() const;
  // Subject, fingerprint, validity and state of each root, for `regcache ca show`.
  std::string describe() const;

private:
  Authority() = default;
  X509Ptr root_;
  EvpPkeyPtr key_;
  std::vector<X509Ptr> chain_;
  std::filesystem::path dir_;
};

// "AB:CD:..." SHA-256 fingerprint of a certificate.
std::string fingerprintSha256(X509 *cert);
// The certificate as PEM text.
std::string toPem(X509 *cert);

} // namespace regcache::ca
