#pragma once
// Verifies a leaf the way a TLS client does, with OpenSSL's verifier.
#include <string>
#include <vector>

#include "base/openssl_handles.h"

namespace regcache::test {

struct VerifyRequest {
  X509 *leaf;
  std::vector<X509 *> trusted;
  std::vector<X509 *> untrusted; // intermediates sent by the server
  std::string host;              // DNS name to check, or empty
  std::string ip;                // IP to check, or empty
  long atTime = 0;               // 0: now
};

// X509_V_OK when the chain verifies for serverAuth and the name matches.
inline int verifyLeaf(const VerifyRequest &request) {
  regcache::X509StorePtr store(X509_STORE_new());
  for (X509 *root : request.trusted)
    X509_STORE_add_cert(store.get(), root);
  STACK_OF(X509) *chain = sk_X509_new_null();
  for (X509 *cert : request.untrusted)
    sk_X509_push(chain, cert);
  regcache::X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), request.leaf, chain);
  X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
  if (!request.host.empty()) X509_VERIFY_PARAM_set1_host(param, request.host.c_str(), 0);
  if (!request.ip.empty()) X509_VERIFY_PARAM_set1_ip_asc(param, request.ip.c_str());
  if (request.atTime != 0) X509_VERIFY_PARAM_set_time(param, request.atTime);
  int rc = X509_verify_cert(ctx.get());
  int error = rc == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx.get());
  sk_X509_free(chain);
  return error;
}

} // namespace regcache::test
