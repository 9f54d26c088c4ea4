#include "ca/leaf_minter.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include "ca/authority.h"
#include "ca/x509_util.h"

namespace regcache::ca {
namespace {

bool isIpv4(const std::string &s) {
  in_addr a{};
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}
bool isIpv6(const std::string &s) {
  in6_addr a{};
  return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

bool validDnsName(const std::string &name) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t dot = name.find('.', start);
    std::size_t end = dot == std::string::npos ? name.size() : dot;
    std::size_t length = end - start;
    if (length == 0 || length > 63) return false;
    if (name[start] == '-' || name[end - 1] == '-') return false;
    for (std::size_t i = start; i < end; ++i) {
      char c = name[i];
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return true;
}

} // namespace

std::string normalizeHost(std::string_view host) {
  std::string h(host);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (isIpv4(h)) return h;
  if (isIpv6(h)) {
    in6_addr a{};
    inet_pton(AF_INET6, h.c_str(), &a);
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &a, buf, sizeof buf);
    return buf;
  }
  if (!h.empty() && h.back() == '.') h.pop_back();
  std::transform(h.begin(), h.end(), h.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return validDnsName(h) ? h : std::string();
}

Result<Leaf> mintLeaf(const Authority &authority, std::string_view rawHost, const Clock &clock,
                      const MintOptions &options) {
  std::string host = normalizeHost(rawHost);
  if (host.empty()) {
    return fail(Error::kInvalidInput,
                "not a host name or IP address: '" + std::string(rawHost) + "'");
  }
  bool ip = isIpv4(host) || isIpv6(host);

  auto key = generateP256Key();
  if (!key.ok()) return key.failure();
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  if (auto r = setRandomSerial(cert.get()); !r.ok()) return r.failure();

  // The CN is informational (Go ignores it) and limited to 64 characters.
  std::string cn = host.substr(0, 64);
  X509_NAME *subject = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char *>(cn.c_str()), -1, -1, 0);
  X509 *issuer = authority.signingCert();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer));
  auto now = clock.now();
  Leaf leaf;
  leaf.notBefore = now - options.backdate;
  leaf.notAfter = now + options.validity;
  setValidity(cert.get(), leaf.notBefore, leaf.notAfter);
  X509_set_pubkey(cert.get(), key->get());

  std::string san = (ip ? "IP:" : "DNS:") + host;
  for (auto [nid, value] : {std::pair{NID_basic_constraints, std::string("critical,CA:FALSE")},
                            std::pair{NID_key_usage, std::string("critical,digitalSignature")},
                            std::pair{NID_ext_key_usage, std::string("serverAuth")},
                            std::pair{NID_subject_key_identifier, std::string("hash")},
                            std::pair{NID_authority_key_identifier, std::string("keyid:always")},
                            std::pair{NID_subject_alt_name, san}}) {
    if (auto r = addExtension(cert.get(), issuer, nid, value); !r.ok()) return r.failure();
  }
  if (X509_sign(cert.get(), authority.signingKey(), EVP_sha256()) == 0) {
    return fail(Error::kCrypto, "cannot sign the leaf for " + host + ": " + opensslErrors());
  }
  leaf.cert = std::move(cert);
  leaf.key = std::move(key.value());
  for (const auto &extra : authority.chainCerts())
    leaf.chain.push_back(shareX509(extra.get()));
  return leaf;
}

} // namespace regcache::ca
