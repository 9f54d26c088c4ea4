#pragma once
// The listening half of the in-process tests' fake peers (scripted upstream, TLS front, parent
// proxy): a socket on 127.0.0.1 at a free port, an accept thread, and one thread per accepted
// connection running the owner's handler. Handlers poll in steps of at most 100 ms and watch
// stopping(), so the destructor ends everything promptly: it shuts down every tracked descriptor
// (the accepted ones, and any a handler opened and handed over with track()), joins the
// threads, and only then closes the descriptors, so that no number is reused while a thread may
// still hold it.
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace regcache::test {

class LoopbackServer {
public:
  using Handler = std::function<void(int fd)>;
  // Listens and starts accepting; `who` names the owner in the exception thrown when it cannot
  // listen. An owner keeps its LoopbackServer as its last member (or resets it first in its
  // destructor), since the handler's threads use the owner's other members.
  LoopbackServer(Handler handler, const char *who);
  ~LoopbackServer();
  LoopbackServer(const LoopbackServer &) = delete;
  LoopbackServer &operator=(const LoopbackServer &) = delete;

  uint16_t port() const { return port_; }
  // True once the destructor has begun: handlers end their loops.
  const std::atomic<bool> &stopping() const { return stopping_; }
  int connectionsAccepted() const { return accepted_.load(); }
  // Hands a descriptor a handler opened (a backend connection) to the server, which shuts it
  // down and closes it with the accepted ones.
  void track(int fd);

private:
  void acceptLoop();

  Handler handler_;
  int listenFd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::mutex mutex_;
  std::vector<int> descriptors_;
  std::vector<std::thread> threads_;
  std::thread acceptThread_;
};

// A blocking TCP connection to 127.0.0.1:port, or -1.
int connectToLoopback(uint16_t port);

} // namespace regcache::test
