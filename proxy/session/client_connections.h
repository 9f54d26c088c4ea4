#pragma once
// Open client connections per client IP address, counted across every worker thread, so one
// client cannot take all of the proxy's file descriptors and sessions (--max-connections-per-
// client). Thread-safe.
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

#include "proxy/net/socket_address.h"

namespace regcache::proxy {

class ClientConnections {
public:
  // How a new connection stands against the limit.
  enum class Standing {
    kAdmitted, // within the limit, or no limit
    kOver,     // past the limit: its first request is answered 503 (CONNECT: closed)
    kExcess,   // past twice the limit: closed at once, before anything is read
  };

  // One counted connection; the count goes down when it is destroyed. Movable, not copyable.
  class Ticket {
  public:
    Ticket() = default;
    ~Ticket();
    Ticket(Ticket &&other) noexcept;
    Ticket &operator=(Ticket &&other) noexcept;
    Ticket(const Ticket &) = delete;
    Ticket &operator=(const Ticket &) = delete;
    Standing standing() const { return standing_; }

  private:
    friend class ClientConnections;
    void release();
    ClientConnections *owner_ = nullptr;
    std::string key_;
    Standing standing_ = Standing::kAdmitted;
  };

  // `limit` connections per address; 0: unlimited (nothing is counted).
  explicit ClientConnections(std::size_t limit) : limit_(limit) {}
  ClientConnections(const ClientConnections &) = delete;
  ClientConnections &operator=(const ClientConnections &) = delete;

  // Counts a new connection from `peer` (its address; the port is ignored). Connections over
  // the limit are counted too, so a client flooding over-limit connections reaches kExcess.
  // The ticket must not outlive this object.
  Ticket admit(const net::SocketAddress &peer);
  // Open connections now counted for `peer`'s address.
  std::size_t count(const net::SocketAddress &peer) const;

private:
  void release(const std::string &key);

  const std::size_t limit_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::size_t> open_; // no entry for an address with none
};

} // namespace regcache::proxy
