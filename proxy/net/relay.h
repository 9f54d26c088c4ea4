#pragma once
// Moves raw bytes both ways between two connected bufferevents, with backpressure: when one
// side's output passes the high watermark, reading from the other side stops until the output
// drains to half. An EOF is passed on as a half-close once the pending bytes are written.
#include <chrono>
#include <functional>
#include <string>

#include "base/event_handles.h"
#include "proxy/net/read_gate.h"

namespace regcache::proxy::net {

class Relay {
public:
  struct Totals {
    std::size_t aToB = 0;
    std::size_t bToA = 0;
  };
  // Called once when both directions are finished or one side fails; may destroy the Relay.
  using DoneCallback = std::function<void(const Totals &, const std::string &error)>;

  // Takes both bufferevents (plain sockets). Bytes already in a's input are forwarded at start().
  Relay(BufferEventPtr a, BufferEventPtr b, std::size_t highWatermark, DoneCallback done);
  Relay(const Relay &) = delete;
  Relay &operator=(const Relay &) = delete;
  // Before start(): finish with "idle timeout" once no byte has moved in either direction for
  // `timeout` (zero: never). One direction busy keeps both alive: a download whose client sends
  // nothing is not idle.
  void setIdleTimeout(std::chrono::milliseconds timeout) { idleTimeout_ = timeout; }
  void start();

private:
  struct Side {
    BufferEventPtr bev;
    ReadGate gate;
    bool readDone = false;  // EOF seen
    bool writeShut = false; // the peer's EOF has been passed on
    std::size_t forwarded = 0;
  };

  static void onRead(bufferevent *bev, void *arg) noexcept;
  static void onWrite(bufferevent *bev, void *arg) noexcept;
  static void onEvent(bufferevent *bev, short what, void *arg) noexcept;
  static void onIdle(evutil_socket_t, short, void *arg) noexcept;

  Side &sideOf(bufferevent *bev) { return bev == a_.bev.get() ? a_ : b_; }
  Side &peerOf(bufferevent *bev) { return bev == a_.bev.get() ? b_ : a_; }
  void forward(Side &from, Side &to);
  void maybeShutdown(Side &from, Side &to);
  void finish(const std::string &error);
  void noteActivity();

  Side a_, b_;
  std::chrono::milliseconds idleTimeout_{0};
  EventPtr idleTimer_;
  std::size_t highWatermark_;
  DoneCallback done_;
};

} // namespace regcache::proxy::net
