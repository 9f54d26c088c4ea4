#include "tls_front.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/pem.h>

#include <fstream>
#include <random>
#include <stdexcept>

namespace regcache::test {
namespace {

// A self-signed P-256 certificate for IP 127.0.0.1, valid for a day.
std::pair<X509Ptr, EvpPkeyPtr> selfSigned() {
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  X509Ptr cert(X509_new());
  if (!key || !cert) throw std::runtime_error("cannot make the TLS front's key");
  X509_set_version(cert.get(), 2);
  std::random_device random;
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), static_cast<long>(random() & 0x7fffffff));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
  X509_NAME *name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char *>("regcache test upstream"), -1,
                             -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key.get());
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1"},
                            std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    if (!ext || X509_add_ext(cert.get(), ext.get(), -1) != 1) {
      throw std::runtime_error("cannot add an extension to the TLS front's certificate");
    }
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    throw std::runtime_error("cannot sign the TLS front's certificate");
  }
  return {std::move(cert), std::move(key)};
}

std::string toPem(X509 *cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char *data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

} // namespace

TlsFront::TlsFront(uint16_t backendPort, uint16_t cleartextBackendPort)
    : backendPort_(backendPort), cleartextBackendPort_(cleartextBackendPort) {
  auto [cert, key] = selfSigned();
  ctx_.reset(SSL_CTX_new(TLS_server_method()));
  if (!ctx_ || SSL_CTX_use_certificate(ctx_.get(), cert.get()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx_.get(), key.get()) != 1) {
    throw std::runtime_error("cannot set up the TLS front");
  }
  server_.emplace([this](int fd) { relay(fd); }, "the TLS front");
  caFile_ =
      std::filesystem::temp_directory_path() /
      ("regcache-tls-front-" + std::to_string(::getpid()) + "-" + std::to_string(port()) + ".pem");
  std::ofstream(caFile_) << toPem(cert.get());
}

TlsFront::~TlsFront() {
  server_.reset();
  std::error_code ec;
  std::filesystem::remove(caFile_, ec);
}

std::string TlsFront::cleartextReceived() const {
  std::lock_guard lock(mutex_);
  return cleartext_;
}

void TlsFront::relay(int clientFd) {
  // A TLS client starts with a handshake record (0x16); anything else is kept for the test.
  char first = 0;
  pollfd p{clientFd, POLLIN, 0};
  if (::poll(&p, 1, 2000) > 0 && ::recv(clientFd, &first, 1, MSG_PEEK) == 1 && first != 0x16) {
    int backend = cleartextBackendPort_ != 0 ? connectToLoopback(cleartextBackendPort_) : -1;
    if (backend >= 0) server_->track(backend);
    char buffer[65536];
    bool open = true;
    while (open && !stopping()) {
      pollfd fds[2] = {{clientFd, POLLIN, 0}, {backend, POLLIN, 0}};
      if (::poll(fds, backend >= 0 ? 2 : 1, 100) <= 0) continue;
      if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        ssize_t n = ::recv(clientFd, buffer, sizeof buffer, 0);
        open = n > 0;
        if (open) {
          std::lock_guard lock(mutex_);
          cleartext_.append(buffer, static_cast<std::size_t>(n));
        }
        open = open && backend >= 0 &&
               ::send(backend, buffer, static_cast<std::size_t>(n), MSG_NOSIGNAL) == n;
      }
      if (open && backend >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        ssize_t n = ::recv(backend, buffer, sizeof buffer, 0);
        open = n > 0 && ::send(clientFd, buffer, static_cast<std::size_t>(n), MSG_NOSIGNAL) == n;
      }
    }
    if (backend >= 0) ::shutdown(backend, SHUT_RDWR);
    ::shutdown(clientFd, SHUT_RDWR);
    return;
  }
  SslPtr ssl(SSL_new(ctx_.get()));
  SSL_set_fd(ssl.get(), clientFd);
  int backend = -1;
  if (SSL_accept(ssl.get()) == 1) backend = connectToLoopback(backendPort_);
  if (backend >= 0) {
    server_->track(backend);
    char buffer[65536];
    bool open = true;
    while (open && !stopping()) {
      pollfd fds[2] = {{clientFd, POLLIN, 0}, {backend, POLLIN, 0}};
      if (SSL_pending(ssl.get()) == 0 && ::poll(fds, 2, 100) <= 0) continue;
      if (SSL_pending(ssl.get()) > 0 || (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        int n = SSL_read(ssl.get(), buffer, sizeof buffer);
        open = n > 0 && ::send(backend, buffer, static_cast<std::size_t>(n), MSG_NOSIGNAL) == n;
      }
      if (open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        ssize_t n = ::recv(backend, buffer, sizeof buffer, 0);
        open = n > 0 && SSL_write(ssl.get(), buffer, static_cast<int>(n)) == n;
      }
    }
    SSL_shutdown(ssl.get());
    ::shutdown(backend, SHUT_RDWR);
  }
  // Both peers see the end now; the fds are closed by the destructor, so a number is never
  // reused while it is still listed.
  ::shutdown(clientFd, SHUT_RDWR);
}

} // namespace regcache::test
