#include "proxy/net/eager_write.h"

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstring>
#include <vector>

namespace regcache::proxy::net {
namespace {

void queue(evbuffer *out, std::string_view head, std::span<const char> body) {
  std::size_t total = head.size() + body.size();
  evbuffer_iovec space{};
  if (evbuffer_reserve_space(out, static_cast<ev_ssize_t>(total), &space, 1) != 1 ||
      space.iov_len < total) {
    evbuffer_add(out, head.data(), head.size());
    evbuffer_add(out, body.data(), body.size());
    return;
  }
  // An empty part may have no address at all (a default string_view or span): never memcpy'd.
  if (!head.empty()) std::memcpy(space.iov_base, head.data(), head.size());
  if (!body.empty())
    std::memcpy(static_cast<char *>(space.iov_base) + head.size(), body.data(), body.size());
  space.iov_len = total;
  evbuffer_commit_space(out, &space, 1);
}

// Head and body in one buffer for one SSL_write; reused per thread, so no allocation per call.
// A body alone is written from where it is.
std::span<const char> joined(std::string_view head, std::span<const char> body) {
  if (head.empty()) return body;
  thread_local std::vector<char> buffer;
  buffer.resize(head.size() + body.size());
  std::memcpy(buffer.data(), head.data(), head.size());
  if (!body.empty()) std::memcpy(buffer.data() + head.size(), body.data(), body.size());
  return {buffer.data(), buffer.size()};
}

void sendTls(SSL *ssl, evbuffer *out, std::string_view head, std::span<const char> body) {
  if (SSL_is_init_finished(ssl) != 1) {
    queue(out, head, body);
    return;
  }
  std::span<const char> bytes = joined(head, body);
  ERR_clear_error();
  int written = SSL_write(ssl, bytes.data(), static_cast<int>(bytes.size()));
  if (written == static_cast<int>(bytes.size())) return;
  // Not written (the socket is full, or the connection failed). Without partial writes, which
  // bufferevent_openssl does not enable, OpenSSL keeps what it already encrypted of this call and
  // must be called again with the same bytes from their start: they go to the empty output as
  // one chain, so the bufferevent's next SSL_write is that very retry
  // (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER, which it sets, allows the new address). A connection
  // that failed fails that write too, and the bufferevent reports it.
  evbuffer_add(out, bytes.data(), bytes.size());
}

void sendPlain(bufferevent *bev, evbuffer *out, std::string_view head, std::span<const char> body) {
  iovec parts[2] = {{const_cast<char *>(head.data()), head.size()},
                    {const_cast<char *>(body.data()), body.size()}};
  msghdr message{};
  message.msg_iov = parts;
  message.msg_iovlen = body.empty() ? 1 : 2;
  ssize_t n = ::sendmsg(bufferevent_getfd(bev), &message, MSG_NOSIGNAL);
  std::size_t sent = n > 0 ? static_cast<std::size_t>(n) : 0; // an error is reported on retry
  if (sent >= head.size() + body.size()) return;
  if (sent >= head.size()) {
    evbuffer_add(out, body.data() + (sent - head.size()), body.size() - (sent - head.size()));
    return;
  }
  queue(out, head.substr(sent), body);
}

// A TLS write the socket takes only part of is retried by the bufferevent with the same bytes,
// as much of them as its single write allows, and OpenSSL refuses a retry shorter than what it
// already sent: only what fits one of the bufferevent's writes is written here.
bool withinOneWrite(bufferevent *bev, std::size_t bytes) {
  ev_ssize_t most = bufferevent_get_max_single_write(bev);
  return most > 0 && bytes <= static_cast<std::size_t>(most);
}

} // namespace

void sendEagerly(bufferevent *bev, std::string_view head, std::span<const char> body) {
  evbuffer *out = bufferevent_get_output(bev);
  bool writable = (bufferevent_get_enabled(bev) & EV_WRITE) != 0;
  if (!writable || evbuffer_get_length(out) != 0 || bufferevent_getfd(bev) < 0) {
    queue(out, head, body); // after what is queued, in order
    return;
  }
  SSL *ssl = bufferevent_openssl_get_ssl(bev);
  if (ssl == nullptr) {
    sendPlain(bev, out, head, body);
  } else if (withinOneWrite(bev, head.size() + body.size())) {
    sendTls(ssl, out, head, body);
  } else {
    queue(out, head, body);
  }
}

void addAsOneChange(evbuffer *out, std::string_view head, std::span<const char> body) {
  queue(out, head, body);
}

} // namespace regcache::proxy::net
