#include "proxy/session/intercept_tls.h"

#include <openssl/err.h>

#include <functional>
#include <stdexcept>

#include "base/log.h"
#include "base/openssl_errors.h"
#include "ca/leaf_cache.h"
#include "ca/mint_limiter.h"
#include "proxy/net/tls_contexts.h"

namespace regcache::proxy {
namespace {

constexpr unsigned char kAlpnHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

// What the servername callback needs for one handshake; owned by the SSL through ex_data.
struct InterceptInfo {
  std::string connectHost;
  std::string clientAddress;
  std::string logPrefix;
};

int interceptInfoIndex() {
  static const int index =
      SSL_get_ex_new_index(0, nullptr, nullptr, nullptr,
                           [](void *, void *ptr, CRYPTO_EX_DATA *, int, long, void *) noexcept {
                             delete static_cast<InterceptInfo *>(ptr);
                           });
  return index;
}

int leafCacheIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int mintLimiterIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int onServerName(SSL *ssl, int *alert, void *) noexcept {
  auto *info = static_cast<InterceptInfo *>(SSL_get_ex_data(ssl, interceptInfoIndex()));
  auto *leaves =
      static_cast<ca::LeafCache *>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), leafCacheIndex()));
  if (info == nullptr || leaves == nullptr) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  std::string host = (sni != nullptr && *sni != '\0') ? std::string(sni) : info->connectHost;
  auto *mints =
      static_cast<ca::MintLimiter *>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), mintLimiterIndex()));
  std::function<bool()> mayMint;
  if (mints != nullptr) {
    mayMint = [mints, info] { return mints->tryTake(info->clientAddress); };
  }
  auto leaf = leaves->get(host, mayMint);
  if (!leaf.ok()) {
    log::tls().warn("{} no certificate for '{}' (client {}): {}", info->logPrefix, host,
                    info->clientAddress, leaf.failure().detail);
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  const auto &credentials = *leaf.value();
  if (SSL_use_certificate(ssl, credentials.cert.get()) != 1 ||
      SSL_use_PrivateKey(ssl, credentials.key.get()) != 1) {
    log::tls().error("cannot install the leaf for '{}': {}", host, drainOpensslErrors());
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  for (const auto &extra : credentials.chain)
    SSL_add1_chain_cert(ssl, extra.get());
  return SSL_TLSEXT_ERR_OK;
}

int onAlpnSelect(SSL *, const unsigned char **out, unsigned char *outLength,
                 const unsigned char *in, unsigned int inLength, void *) noexcept {
  unsigned char *selected = nullptr;
  if (SSL_select_next_proto(&selected, outLength, kAlpnHttp11, sizeof kAlpnHttp11, in, inLength) !=
      OPENSSL_NPN_NEGOTIATED) {
    // The client offered only other protocols (h2): answer without ALPN; it falls back to 1.1.
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

} // namespace

SslCtxPtr makeInterceptContext(ca::LeafCache &leaves, ca::MintLimiter *mints) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) throw std::runtime_error("SSL_CTX_new failed: " + drainOpensslErrors());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
  static const unsigned char kSessionContext[] = "regcache";
  SSL_CTX_set_session_id_context(ctx.get(), kSessionContext, sizeof kSessionContext - 1);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_SERVER);
  SSL_CTX_sess_set_cache_size(ctx.get(), 20000);
  SSL_CTX_set_ex_data(ctx.get(), leafCacheIndex(), &leaves);
  SSL_CTX_set_ex_data(ctx.get(), mintLimiterIndex(), mints);
  SSL_CTX_set_tlsext_servername_callback(ctx.get(), &onServerName);
  SSL_CTX_set_alpn_select_cb(ctx.get(), &onAlpnSelect, nullptr);
  return ctx;
}

Result<SslPtr> newInterceptSsl(SSL_CTX *context, std::string connectHost, std::string clientAddress,
                               std::string logPrefix) {
  SslPtr ssl(SSL_new(context));
  if (!ssl) return fail(Error::kTls, "SSL_new: " + drainOpensslErrors());
  auto info = std::make_unique<InterceptInfo>(
      InterceptInfo{std::move(connectHost), std::move(clientAddress), std::move(logPrefix)});
  if (SSL_set_ex_data(ssl.get(), interceptInfoIndex(), info.get()) != 1) {
    return fail(Error::kTls, "SSL_set_ex_data: " + drainOpensslErrors());
  }
  info.release(); // the SSL frees it through the ex_data free callback
  return ssl;
}

} // namespace regcache::proxy
