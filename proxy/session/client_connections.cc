#include "proxy/session/client_connections.h"

#include <utility>

namespace regcache::proxy {

ClientConnections::Ticket::~Ticket() { release(); }

ClientConnections::Ticket::Ticket(Ticket &&other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), key_(std::move(other.key_)),
      standing_(other.standing_) {}

ClientConnections::Ticket &ClientConnections::Ticket::operator=(Ticket &&other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::exchange(other.owner_, nullptr);
    key_ = std::move(other.key_);
    standing_ = other.standing_;
  }
  return *this;
}

void ClientConnections::Ticket::release() {
  if (owner_ != nullptr) owner_->release(key_);
  owner_ = nullptr;
}

ClientConnections::Ticket ClientConnections::admit(const net::SocketAddress &peer) {
  Ticket ticket;
  if (limit_ == 0) return ticket;
  ticket.key_ = peer.ipString();
  std::size_t open = 0;
  {
    std::lock_guard lock(mutex_);
    open = ++open_[ticket.key_];
  }
  ticket.owner_ = this;
  if (open > 2 * limit_) {
    ticket.standing_ = Standing::kExcess;
  } else if (open > limit_) {
    ticket.standing_ = Standing::kOver;
  }
  return ticket;
}

std::size_t ClientConnections::count(const net::SocketAddress &peer) const {
  std::lock_guard lock(mutex_);
  auto it = open_.find(peer.ipString());
  return it == open_.end() ? 0 : it->second;
}

void ClientConnections::release(const std::string &key) {
  std::lock_guard lock(mutex_);
  auto it = open_.find(key);
  if (it == open_.end()) return;
  if (--it->second == 0) open_.erase(it);
}

} // namespace regcache::proxy
