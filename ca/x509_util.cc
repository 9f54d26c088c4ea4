#include "ca/x509_util.h"

#include "base/openssl_errors.h"

#include <openssl/err.h>
#include <openssl/rand.h>

namespace regcache::ca {

std::string opensslErrors() { return drainOpensslErrors("unknown OpenSSL error"); }

Result<EvpPkeyPtr> generateP256Key() {
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return fail(Error::kCrypto, "EC key generation failed: " + opensslErrors());
  return key;
}

Result<void> setRandomSerial(X509 *cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return fail(Error::kCrypto, "RAND_bytes failed");
  bytes[0] &= 0x7f; // positive
  bytes[0] |= 0x01; // and never a short one
  BignumPtr bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr) {
    return fail(Error::kCrypto, "cannot set serial: " + opensslErrors());
  }
  return {};
}

void setValidity(X509 *cert, Clock::TimePoint notBefore, Clock::TimePoint notAfter) {
  ASN1_TIME_set(X509_getm_notBefore(cert), std::chrono::system_clock::to_time_t(notBefore));
  ASN1_TIME_set(X509_getm_notAfter(cert), std::chrono::system_clock::to_time_t(notAfter));
}

Result<void> addExtension(X509 *cert, X509 *issuer, int nid, const std::string &value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return fail(Error::kCrypto, std::string("cannot add ") + OBJ_nid2sn(nid) + "=" + value + ": " +
                                    opensslErrors());
  }
  return {};
}

Clock::TimePoint toTimePoint(const ASN1_TIME *time) {
  tm parts{};
  ASN1_TIME_to_tm(time, &parts);
  return std::chrono::system_clock::from_time_t(timegm(&parts));
}

} // namespace regcache::ca
