#pragma once
// One blocking client connection for threads that are not event loops: the CLI tools (ca
// install's bundle fetch, cache warm) and the S3 store's I/O threads. TCP, optionally through an
// HTTP proxy's CONNECT tunnel, optionally TLS. Timeouts bound the connect and every read and
// write, so no call blocks for longer than the timeouts given to connectChannel().
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/openssl_handles.h"
#include "base/result.h"
#include "base/unique_fd.h"
#include "proxy/http/target.h"

namespace regcache::blocking {

class Channel {
public:
  explicit Channel(UniqueFd fd) : fd_(std::move(fd)) {}

  // A TLS client handshake verifying `host` (a name: DNS SANs and SNI; an IP literal: IP SANs)
  // against the system roots plus `caFile` (when not empty). `what` names the peer in errors.
  Result<void> startTls(const std::string &host, const std::filesystem::path &caFile,
                        const std::string &what);
  // The same with several extra root files (each loaded; none may be missing).
  Result<void> startTls(const std::string &host, const std::vector<std::filesystem::path> &caFiles,
                        const std::string &what);
  // Asks the HTTP proxy at the other end for a tunnel to `target` (CONNECT host:port), with
  // `proxyAuthorization` as Proxy-Authorization when not empty; fails unless it answers 2xx.
  // Must come before startTls().
  Result<void> openTunnel(const proxy::http::HostPort &target,
                          const std::string &proxyAuthorization = {});
  bool sendAll(std::string_view data);
  // Bytes read; 0 at the end of the stream; -1 on an error or a timeout.
  ssize_t receive(char *buf, std::size_t size);
  // For keep-alive reuse: true while the peer has neither closed nor sent anything unasked
  // (either makes the connection unfit for another request). Does not block.
  bool idle() const;

private:
  UniqueFd fd_;
  SslCtxPtr ctx_;
  SslPtr ssl_; // freed before ctx_ and fd_ (members are destroyed in reverse order)
};

// A connected TCP channel to `authority` (resolved with getaddrinfo, each address tried), with
// `timeout` on the connect and on every later read and write. `what` names the peer in errors.
Result<Channel> connectChannel(const proxy::http::HostPort &authority, const std::string &what,
                               std::chrono::milliseconds timeout = std::chrono::seconds(10));
// The same with a separate bound on the connect (each address) and on reads and writes.
Result<Channel> connectChannel(const proxy::http::HostPort &authority, const std::string &what,
                               std::chrono::milliseconds connectTimeout,
                               std::chrono::milliseconds ioTimeout);

} // namespace regcache::blocking
