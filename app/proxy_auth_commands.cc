#include <iostream>
#include <stdexcept>
#include <string>

#include "app/commands.h"
#include "proxy/access/proxy_users.h"

namespace regcache::app {

int runProxyAuthHash(const ParsedCommand &command) {
  // One line on stdin, so the secret never shows in a process list or a shell history.
  std::string secret;
  std::getline(std::cin, secret);
  if (!secret.empty() && secret.back() == '\r') secret.pop_back();
  if (secret.empty()) throw std::runtime_error("no secret on stdin");
  if (command.hashToken && secret.size() < 20) {
    throw std::runtime_error("a token should be long and random (20 characters at least)");
  }
  std::cout << proxy::hashProxySecret(secret, command.hashToken, command.hashAdmin) << "\n";
  return 0;
}

} // namespace regcache::app
