#pragma once
// A parent proxy for chaining tests: it listens on 127.0.0.1, records each CONNECT head it
// gets and answers as told. Relaying, it plays a real parent: it resolves every target name
// itself (to 127.0.0.1 here) and relays to the target's port. One thread per connection; every
// wait is bounded and everything stops in the destructor.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "loopback_server.h"

namespace regcache::test {

class ConnectParent {
public:
  enum class Mode {
    kRelay,   // "200 Connection established", then bytes both ways to 127.0.0.1:<target port>
    kAnswer,  // `answer` as given (with a 200 in it: the bytes after its head), then close
    kEndless, // a 200 status line, then header lines that never end, until the peer closes
    kSilent,  // nothing at all until the peer closes
  };
  explicit ConnectParent(Mode mode, std::string answer = {});
  ~ConnectParent();
  ConnectParent(const ConnectParent &) = delete;
  ConnectParent &operator=(const ConnectParent &) = delete;

  uint16_t port() const { return server_->port(); }
  // Every CONNECT head received so far (request line and headers, without the blank line).
  std::vector<std::string> connectHeads() const;
  // The request lines alone ("CONNECT host:port HTTP/1.1").
  std::vector<std::string> connectLines() const;
  // Bytes the endless mode sent before the peer gave up.
  std::uint64_t endlessBytesSent() const { return endlessSent_.load(); }

private:
  void serve(int fd);
  const std::atomic<bool> &stopping() const { return server_->stopping(); }
  void relay(int clientFd, uint16_t port);

  Mode mode_;
  std::string answer_;
  std::atomic<std::uint64_t> endlessSent_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> heads_;
  std::optional<LoopbackServer> server_; // last: its threads use the members above
};

} // namespace regcache::test
