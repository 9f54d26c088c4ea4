#include "raw_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <utility>

namespace regcache::test {

RawSocket::~RawSocket() { close(); }
RawSocket::RawSocket(RawSocket &&other) noexcept
    : fd_(std::exchange(other.fd_, -1)), pending_(std::move(other.pending_)) {}
RawSocket &RawSocket::operator=(RawSocket &&other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    pending_ = std::move(other.pending_);
  }
  return *this;
}

void RawSocket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

RawSocket RawSocket::connectTo(uint16_t port, const char *from, int receiveBuffer) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (receiveBuffer > 0)
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receiveBuffer, sizeof receiveBuffer);
  if (from != nullptr) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, from, &local.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr *>(&local), sizeof local) != 0) {
      ::close(fd);
      throw std::runtime_error(std::string("bind: ") + std::strerror(errno));
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
  }
  return RawSocket(fd);
}

void RawSocket::sendAll(const std::string &data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error("send failed");
    sent += static_cast<std::size_t>(n);
  }
}

std::string RawSocket::readUntil(const std::function<bool(const std::string &)> &done,
                                 std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string received = std::move(pending_);
  pending_.clear();
  char buf[65536];
  while (!done(received)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) break;
    received.append(buf, static_cast<std::size_t>(n));
  }
  return received;
}

std::string RawSocket::readAll(std::chrono::milliseconds timeout) {
  return readUntil([](const std::string &) { return false; }, timeout);
}

std::string RawSocket::readResponse(std::chrono::milliseconds timeout) {
  std::string all = readUntil([](const std::string &s) { return responseLength(s) != 0; }, timeout);
  std::size_t length = responseLength(all);
  if (length == 0) return all;
  pending_ = all.substr(length);
  return all.substr(0, length);
}

bool RawSocket::waitClosed(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return true;
  }
  return false;
}

namespace {

std::string lowerCopy(std::string s) {
  for (char &c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

} // namespace

std::size_t responseLength(const std::string &text, bool headRequest) {
  std::size_t headEnd = text.find("\r\n\r\n");
  if (headEnd == std::string::npos) return 0;
  std::size_t bodyStart = headEnd + 4;
  std::string head = lowerCopy(text.substr(0, headEnd));
  int status = std::atoi(text.c_str() + 9);
  if (headRequest || status == 204 || status == 304 || status < 200) return bodyStart;
  if (auto pos = head.find("\r\ncontent-length:"); pos != std::string::npos) {
    std::size_t length = std::stoull(head.substr(pos + 17));
    return text.size() >= bodyStart + length ? bodyStart + length : 0;
  }
  if (head.find("transfer-encoding: chunked") != std::string::npos) {
    std::size_t pos = bodyStart;
    for (;;) {
      std::size_t lineEnd = text.find("\r\n", pos);
      if (lineEnd == std::string::npos) return 0;
      std::size_t size = std::stoull(text.substr(pos, lineEnd - pos), nullptr, 16);
      pos = lineEnd + 2 + size + 2;
      if (pos > text.size()) return 0;
      if (size == 0) return pos;
    }
  }
  return 0; // close-delimited: complete only at EOF
}

} // namespace regcache::test
