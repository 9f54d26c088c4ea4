#pragma once
// Blocking loopback sockets for tests, every wait bounded by a deadline.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace regcache::test {

using namespace std::chrono_literals;

class RawSocket {
public:
  RawSocket() = default;
  explicit RawSocket(int fd) : fd_(fd) {}
  ~RawSocket();
  RawSocket(RawSocket &&other) noexcept;
  RawSocket &operator=(RawSocket &&other) noexcept;

  // Connects to 127.0.0.1:port, from `from` (another loopback address) if given, with a receive
  // buffer of `receiveBuffer` bytes if given (set before the handshake, so the window the peer
  // sees is small from the start); throws on failure.
  static RawSocket connectTo(uint16_t port, const char *from = nullptr, int receiveBuffer = 0);
  int fd() const { return fd_; }
  void sendAll(const std::string &data);
  // Reads until `done(received)` is true, the peer closes, or the timeout passes.
  std::string readUntil(const std::function<bool(const std::string &)> &done,
                        std::chrono::milliseconds timeout = 5000ms);
  // Reads until the peer closes or the timeout passes.
  std::string readAll(std::chrono::milliseconds timeout = 5000ms);
  // Reads one complete response with a Content-Length or chunked body, or to EOF.
  std::string readResponse(std::chrono::milliseconds timeout = 5000ms);
  // True when the peer has closed (EOF) within the timeout.
  bool waitClosed(std::chrono::milliseconds timeout = 5000ms);
  void close();

private:
  int fd_ = -1;
  std::string pending_; // bytes read past the end of the last response
};

// True when `text` holds one complete HTTP response (head plus its body by CL or chunked).
// responseLength returns its length in bytes, or 0 if incomplete.
std::size_t responseLength(const std::string &text, bool headRequest = false);

} // namespace regcache::test
