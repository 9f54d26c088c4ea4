#include <catch2/catch.hpp>

#include <vector>

#include "proxy/session/client_connections.h"

using regcache::proxy::ClientConnections;
using regcache::proxy::net::SocketAddress;
using Standing = ClientConnections::Standing;

TEST_CASE("connections are counted per address, over and far over the limit",
          "[limits][connections]") {
  ClientConnections connections(2);
  auto a = [](uint16_t port) { return *SocketAddress::fromIp("10.0.0.1", port); };
  std::vector<ClientConnections::Ticket> held;
  for (uint16_t port = 1; port <= 5; ++port)
    held.push_back(connections.admit(a(port)));
  CHECK(held[0].standing() == Standing::kAdmitted);
  CHECK(held[1].standing() == Standing::kAdmitted);
  CHECK(held[2].standing() == Standing::kOver);
  CHECK(held[3].standing() == Standing::kOver);
  CHECK(held[4].standing() == Standing::kExcess);
  CHECK(connections.admit(*SocketAddress::fromIp("10.0.0.2", 1)).standing() == Standing::kAdmitted);
  CHECK(connections.count(a(9)) == 5);
  held.erase(held.begin() + 2, held.end());
  ClientConnections::Ticket moved = std::move(held[1]);
  held.pop_back();
  CHECK(connections.count(a(9)) == 2);
  CHECK(connections.admit(a(7)).standing() == Standing::kOver);
  moved = {};
  CHECK(connections.admit(a(7)).standing() == Standing::kAdmitted);
  held.clear();
  CHECK(connections.count(a(9)) == 0);
}

TEST_CASE("a limit of 0 counts nothing", "[limits][connections]") {
  ClientConnections connections(0);
  auto ticket = connections.admit(*SocketAddress::fromIp("10.0.0.1", 1));
  CHECK(ticket.standing() == Standing::kAdmitted);
  CHECK(connections.count(*SocketAddress::fromIp("10.0.0.1", 1)) == 0);
}
