#pragma once
// The blob store's completions, run on one worker's loop through its mailbox: a completion
// posted after the worker closed its mailbox is dropped, and by then the handles it belonged to
// are gone with the worker's sessions.
#include <memory>

#include "cache/blob_store.h"
#include "proxy/net/loop_mailbox.h"

namespace regcache::proxy {

class LoopCompletions final : public cache::CompletionQueue {
public:
  explicit LoopCompletions(std::shared_ptr<net::LoopMailbox> mailbox)
      : mailbox_(std::move(mailbox)) {}
  // Any thread.
  void post(std::function<void()> callback) override { mailbox_->post(std::move(callback)); }

private:
  std::shared_ptr<net::LoopMailbox> mailbox_;
};

} // namespace regcache::proxy
