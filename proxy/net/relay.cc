#include "proxy/net/relay.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace regcache::proxy::net {

Relay::Relay(BufferEventPtr a, BufferEventPtr b, std::size_t highWatermark, DoneCallback done)
    : highWatermark_(highWatermark), done_(std::move(done)) {
  a_.bev = std::move(a);
  b_.bev = std::move(b);
}

void Relay::start() {
  for (Side *side : {&a_, &b_}) {
    bufferevent_setcb(side->bev.get(), &Relay::onRead, &Relay::onWrite, &Relay::onEvent, this);
    bufferevent_setwatermark(side->bev.get(), EV_WRITE, highWatermark_ / 2, 0);
    bufferevent_enable(side->bev.get(), EV_WRITE);
    side->gate.attach(side->bev.get());
  }
  if (idleTimeout_.count() > 0) {
    idleTimer_.reset(evtimer_new(bufferevent_get_base(a_.bev.get()), &Relay::onIdle, this));
    noteActivity();
  }
  forward(a_, b_);
  forward(b_, a_);
}

void Relay::forward(Side &from, Side &to) {
  evbuffer *input = bufferevent_get_input(from.bev.get());
  if (evbuffer_get_length(input) != 0) noteActivity();
  from.forwarded += evbuffer_get_length(input);
  evbuffer_add_buffer(bufferevent_get_output(to.bev.get()), input);
  if (evbuffer_get_length(bufferevent_get_output(to.bev.get())) > highWatermark_) {
    from.gate.pause(ReadGate::kSinkFull);
  }
}

void Relay::onRead(bufferevent *bev, void *arg) noexcept {
  auto *self = static_cast<Relay *>(arg);
  self->forward(self->sideOf(bev), self->peerOf(bev));
}

void Relay::onWrite(bufferevent *bev, void *arg) noexcept {
  // Output drained below the low watermark: the side feeding it may read again.
  auto *self = static_cast<Relay *>(arg);
  Side &to = self->sideOf(bev);
  Side &from = self->peerOf(bev);
  self->noteActivity(); // a slow reader taking bytes is progress
  if (!from.readDone) from.gate.resume(ReadGate::kSinkFull);
  self->maybeShutdown(from, to);
}

void Relay::maybeShutdown(Side &from, Side &to) {
  if (!from.readDone || to.writeShut) return;
  if (evbuffer_get_length(bufferevent_get_output(to.bev.get())) != 0) return;
  ::shutdown(bufferevent_getfd(to.bev.get()), SHUT_WR);
  to.writeShut = true;
  if (a_.readDone && b_.readDone && a_.writeShut && b_.writeShut) finish({});
}

void Relay::onEvent(bufferevent *bev, short what, void *arg) noexcept {
  auto *self = static_cast<Relay *>(arg);
  Side &from = self->sideOf(bev);
  Side &to = self->peerOf(bev);
  if (what & BEV_EVENT_EOF) {
    self->forward(from, to);
    from.readDone = true;
    from.gate.pause(ReadGate::kSinkFull);
    self->maybeShutdown(from, to);
    return;
  }
  if (what & BEV_EVENT_ERROR) {
    self->finish(std::strerror(EVUTIL_SOCKET_ERROR()));
  } else if (what & BEV_EVENT_TIMEOUT) {
    self->finish("idle timeout");
  }
}

void Relay::noteActivity() {
  if (!idleTimer_) return;
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(idleTimeout_.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((idleTimeout_.count() % 1000) * 1000);
  evtimer_add(idleTimer_.get(), &tv); // re-arms: the timeout counts from now
}

void Relay::onIdle(evutil_socket_t, short, void *arg) noexcept {
  static_cast<Relay *>(arg)->finish("idle timeout");
}

void Relay::finish(const std::string &error) {
  if (idleTimer_) evtimer_del(idleTimer_.get());
  Totals totals{a_.forwarded, b_.forwarded};
  for (Side *side : {&a_, &b_})
    bufferevent_disable(side->bev.get(), EV_READ | EV_WRITE);
  auto done = std::move(done_);
  done_ = nullptr;
  if (done) done(totals, error);
}

} // namespace regcache::proxy::net
