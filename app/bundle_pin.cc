#include "app/bundle_pin.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cctype>

#include "base/openssl_handles.h"
#include "ca/authority.h"

namespace regcache::app {

std::optional<std::string> normalizeFingerprint(std::string_view text) {
  std::string hex;
  for (char c : text) {
    if (c == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    hex += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if (hex.size() != 64) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    if (i != 0) out += ':';
    out += hex.substr(i, 2);
  }
  return out;
}

std::vector<std::string> rootFingerprints(const std::string &bundle) {
  BioPtr in(BIO_new_mem_buf(bundle.data(), static_cast<int>(bundle.size())));
  std::vector<std::string> out;
  while (in) {
    X509Ptr cert{PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr)};
    if (!cert) break;
    if (X509_check_ca(cert.get()) >= 1) out.push_back(ca::fingerprintSha256(cert.get()));
  }
  ERR_clear_error();
  return out;
}

Result<PinnedBundle> keepPinnedRoots(const std::string &bundle,
                                     const std::vector<std::string> &pins) {
  BioPtr in(BIO_new_mem_buf(bundle.data(), static_cast<int>(bundle.size())));
  if (!in) return fail(Error::kCrypto, "BIO_new_mem_buf");
  PinnedBundle out;
  std::size_t parsed = 0;
  while (X509Ptr cert{PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr)}) {
    ++parsed;
    std::string fingerprint = ca::fingerprintSha256(cert.get());
    bool pinned = std::find(pins.begin(), pins.end(), fingerprint) != pins.end();
    // A pinned leaf is no root: only a certificate that may sign others is trusted as one.
    if (!pinned || X509_check_ca(cert.get()) < 1) {
      out.skipped.push_back(fingerprint);
      continue;
    }
    BioPtr pem(BIO_new(BIO_s_mem()));
    if (!pem || PEM_write_bio_X509(pem.get(), cert.get()) != 1) {
      return fail(Error::kCrypto, "PEM_write_bio_X509");
    }
    char *data = nullptr;
    long size = BIO_get_mem_data(pem.get(), &data);
    out.pem.append(data, static_cast<std::size_t>(size));
    out.kept.push_back(fingerprint);
  }
  ERR_clear_error(); // the loop ends on the "no more PEM" error
  if (parsed == 0) return fail(Error::kInvalidInput, "no certificate in the bundle");
  if (out.kept.empty()) {
    std::string wanted;
    for (const auto &pin : pins)
      wanted += (wanted.empty() ? "" : ", ") + pin;
    return fail(Error::kPolicy, "the bundle holds no CA certificate with the pinned SHA-256 " +
                                    wanted + " (it holds " + std::to_string(parsed) +
                                    " other certificate(s))");
  }
  return out;
}

} // namespace regcache::app
