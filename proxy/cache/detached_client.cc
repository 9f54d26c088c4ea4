#include "proxy/cache/detached_client.h"

#include "base/log.h"
#include "proxy/worker.h"

namespace regcache::proxy {

DetachedClient::DetachedClient(Worker &worker, RequestHandler &owner, const ClientSide &leaving)
    : worker_(worker), owner_(owner), prefix_(leaving.logPrefix()), peer_(leaving.peer()),
      user_(leaving.user()), sink_(evbuffer_new()) {}

evbuffer *DetachedClient::clientOutput() {
  // Whatever was written since the last call is dropped: nobody is there to read it.
  evbuffer_drain(sink_.get(), evbuffer_get_length(sink_.get()));
  return sink_.get();
}

void DetachedClient::onResponseComplete(bool) {
  log::cache().debug("{} fill finished after its client left", prefix_);
  done();
}

void DetachedClient::abortClient(const std::string &reason) {
  log::cache().debug("{} fill ended after its client left: {}", prefix_, reason);
  done();
}

void DetachedClient::forwardInstead() { done(); }

void DetachedClient::replaceHandler(std::unique_ptr<RequestHandler> next) {
  worker_.deleteLater(std::move(next));
  done();
}

void DetachedClient::done() {
  if (done_) return;
  done_ = true;
  worker_.release(&owner_);
}

} // namespace regcache::proxy
