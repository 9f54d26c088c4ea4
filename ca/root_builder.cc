#include "ca/root_builder.h"

#include "ca/x509_util.h"

namespace regcache::ca {
namespace {

std::string nameConstraintsValue(const std::vector<std::string> &permittedDns) {
  std::string value = "critical";
  for (const auto &name : permittedDns)
    value += ",permitted;DNS:" + name;
  return value;
}

Result<void> addCaExtensions(X509 *cert, X509 *issuer) {
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                            std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                            std::pair{NID_subject_key_identifier, "hash"}}) {
    if (auto r = addExtension(cert, issuer, nid, value); !r.ok()) return r;
  }
  return {};
}

} // namespace

Result<X509Ptr> buildRoot(EVP_PKEY *key, const RootSpec &spec, const Clock &clock) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  if (auto r = setRandomSerial(cert.get()); !r.ok()) return r.failure();
  X509_NAME *name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char *>("regcache"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char *>(spec.commonName.c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(cert.get(), name);
  auto now = clock.now();
  setValidity(cert.get(), now - std::chrono::hours(1), now + spec.validity);
  X509_set_pubkey(cert.get(), key);
  if (auto r = addCaExtensions(cert.get(), cert.get()); !r.ok()) return r.failure();
  if (!spec.permittedDns.empty()) {
    if (auto r = addExtension(cert.get(), cert.get(), NID_name_constraints,
                              nameConstraintsValue(spec.permittedDns));
        !r.ok()) {
      return r.failure();
    }
  }
  if (X509_sign(cert.get(), key, EVP_sha256()) == 0) {
    return fail(Error::kCrypto, "cannot sign the root: " + opensslErrors());
  }
  return cert;
}

Result<X509Ptr> buildCrossCertificate(X509 *newRoot, X509 *oldRoot, EVP_PKEY *oldKey,
                                      const Clock &clock) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  if (auto r = setRandomSerial(cert.get()); !r.ok()) return r.failure();
  X509_set_subject_name(cert.get(), X509_get_subject_name(newRoot));
  X509_set_issuer_name(cert.get(), X509_get_subject_name(oldRoot));
  // Valid as long as the old root, which is what a client that trusts only it can use anyway.
  auto now = clock.now();
  setValidity(cert.get(), now - std::chrono::hours(1), toTimePoint(X509_get0_notAfter(oldRoot)));
  X509_set_pubkey(cert.get(), X509_get0_pubkey(newRoot));
  if (auto r = addCaExtensions(cert.get(), oldRoot); !r.ok()) return r.failure();
  if (auto r = addExtension(cert.get(), oldRoot, NID_authority_key_identifier, "keyid:always");
      !r.ok()) {
    return r.failure();
  }
  // The cross-certificate carries the new root's name constraints, so it grants no more.
  int index = X509_get_ext_by_NID(newRoot, NID_name_constraints, -1);
  if (index >= 0) X509_add_ext(cert.get(), X509_get_ext(newRoot, index), -1);
  if (X509_sign(cert.get(), oldKey, EVP_sha256()) == 0) {
    return fail(Error::kCrypto, "cannot sign the cross-certificate: " + opensslErrors());
  }
  return cert;
}

} // namespace regcache::ca
