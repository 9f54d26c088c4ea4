#pragma once
// Writes a response's first bytes to a client socket at once, when nothing is queued before
// them. bufferevent_socket and bufferevent_openssl write only once the socket reports writable:
// an epoll_ctl to arm the write event, one more loop turn for the event, and another epoll_ctl
// to disarm it, for every small response. Written here, a small response costs one write(2).
#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include <span>
#include <string_view>

namespace regcache::proxy::net {

// Sends `head` then `body` on `bev` (a socket or an OpenSSL socket bufferevent, open and past
// its handshake) as one write: one TLS record for both when they fit one. When the output already
// holds bytes, TLS bytes are more than one of the bufferevent's writes, or the socket takes only
// part, what is left is added to the output as one change,
// and the bufferevent writes it as usual. Never writes out of order and never drops a byte;
// a failed write is left for the bufferevent to report (its own write fails the same way).
void sendEagerly(bufferevent *bev, std::string_view head, std::span<const char> body);

// Appends `head` and then `body` to `out` as one change: bufferevent_openssl encrypts each change
// as it comes, so two appends would be two TLS records and two write(2).
void addAsOneChange(evbuffer *out, std::string_view head, std::span<const char> body);

} // namespace regcache::proxy::net
