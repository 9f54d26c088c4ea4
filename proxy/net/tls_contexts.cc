#include "proxy/net/tls_contexts.h"

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include <stdexcept>

#include "base/log.h"
#include "base/openssl_errors.h"
#include "proxy/net/socket_address.h"

namespace regcache::proxy::net {
namespace {

constexpr unsigned char kAlpnHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

} // namespace

std::string bufferEventTlsErrors(bufferevent *bev, const char *whenEmpty) {
  return joinOpensslErrors([bev] { return bufferevent_get_openssl_error(bev); }, whenEmpty);
}

SslCtxPtr makeUpstreamContext(const std::vector<std::filesystem::path> &extraCaFiles) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) throw std::runtime_error("SSL_CTX_new failed: " + drainOpensslErrors());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
    log::tls().warn("cannot load the system trust store: {}", drainOpensslErrors());
  }
  for (const auto &file : extraCaFiles) {
    if (SSL_CTX_load_verify_locations(ctx.get(), file.c_str(), nullptr) != 1) {
      throw std::runtime_error("cannot load --upstream-ca " + file.string() + ": " +
                               drainOpensslErrors());
    }
  }
  SSL_CTX_set_alpn_protos(ctx.get(), kAlpnHttp11, sizeof kAlpnHttp11);
  return ctx;
}

Result<SslPtr> newUpstreamSsl(SSL_CTX *context, const std::string &host) {
  SslPtr ssl(SSL_new(context));
  if (!ssl) return fail(Error::kTls, "SSL_new: " + drainOpensslErrors());
  if (isIpLiteral(host)) {
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), host.c_str()) != 1) {
      return fail(Error::kTls, "bad IP for verification: " + host);
    }
  } else {
    SSL_set_tlsext_host_name(ssl.get(), host.c_str());
    if (SSL_set1_host(ssl.get(), host.c_str()) != 1) {
      return fail(Error::kTls, "bad host name for verification: " + host);
    }
  }
  return ssl;
}

} // namespace regcache::proxy::net
