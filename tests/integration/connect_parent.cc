#include "connect_parent.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

namespace regcache::test {
namespace {

using Clock = std::chrono::steady_clock;

bool sendAll(int fd, const std::string &bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// The port of "CONNECT host:port HTTP/1.1", or 0.
uint16_t targetPort(const std::string &head) {
  auto lineEnd = head.find("\r\n");
  std::string line = head.substr(0, lineEnd);
  auto space = line.rfind(' ');
  auto colon = line.rfind(':', space);
  if (space == std::string::npos || colon == std::string::npos) return 0;
  return static_cast<uint16_t>(std::stoi(line.substr(colon + 1, space - colon - 1)));
}

} // namespace

ConnectParent::ConnectParent(Mode mode, std::string answer)
    : mode_(mode), answer_(std::move(answer)) {
  server_.emplace([this](int fd) { serve(fd); }, "the test parent proxy");
}

ConnectParent::~ConnectParent() { server_.reset(); }

std::vector<std::string> ConnectParent::connectHeads() const {
  std::lock_guard lock(mutex_);
  return heads_;
}

std::vector<std::string> ConnectParent::connectLines() const {
  std::vector<std::string> lines;
  for (const auto &head : connectHeads())
    lines.push_back(head.substr(0, head.find("\r\n")));
  return lines;
}

void ConnectParent::serve(int fd) {
  // The head alone: the child sends nothing more before the answer.
  std::string head;
  auto deadline = Clock::now() + std::chrono::seconds(5);
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536 && !stopping() &&
         Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buffer[4096];
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return;
    head.append(buffer, static_cast<std::size_t>(n));
  }
  auto end = head.find("\r\n\r\n");
  if (end == std::string::npos) return;
  {
    std::lock_guard lock(mutex_);
    heads_.push_back(head.substr(0, end));
  }
  // Every wait below ends by 10 s, when the peer closes, or when the test ends.
  deadline = Clock::now() + std::chrono::seconds(10);
  switch (mode_) {
  case Mode::kRelay:
    if (sendAll(fd, "HTTP/1.1 200 Connection established\r\n\r\n")) relay(fd, targetPort(head));
    break;
  case Mode::kAnswer:
    (void)sendAll(fd, answer_);
    ::shutdown(fd, SHUT_WR);
    break;
  case Mode::kEndless:
    if (!sendAll(fd, "HTTP/1.1 200 OK\r\n")) break;
    endlessSent_ += 17;
    for (int i = 0; i < 100000 && !stopping() && Clock::now() < deadline; ++i) {
      const std::string line = "X-Padding-" + std::to_string(i) + ": more\r\n";
      if (!sendAll(fd, line)) break;
      endlessSent_ += line.size();
    }
    break;
  case Mode::kSilent:
    while (!stopping() && Clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char byte;
      if (::recv(fd, &byte, 1, 0) <= 0) break;
    }
    break;
  }
}

void ConnectParent::relay(int clientFd, uint16_t port) {
  int backend = connectToLoopback(port);
  if (backend < 0) return;
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (!stopping() && Clock::now() < deadline) {
    pollfd fds[2] = {{clientFd, POLLIN, 0}, {backend, POLLIN, 0}};
    if (::poll(fds, 2, 100) <= 0) continue;
    char buffer[16384];
    bool open = true;
    for (int i = 0; i < 2 && open; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      ssize_t n = ::recv(fds[i].fd, buffer, sizeof buffer, 0);
      open = n > 0 && sendAll(fds[1 - i].fd, std::string(buffer, static_cast<std::size_t>(n)));
    }
    if (!open) break;
  }
  ::close(backend);
  ::shutdown(clientFd, SHUT_RDWR);
}

} // namespace regcache::test
