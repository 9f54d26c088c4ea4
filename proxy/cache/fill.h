#pragma once
// One fill of the cache: the upstream fetch of a blob or manifest by digest, its write to the
// blob store (hashed as it goes), the commit, and the index row. Owned by the worker that
// started it, never by a client: once upstream's 200 head is in, the Exchange that asked is
// handed over to it (CacheTap::takeBody; the Exchange streams into the fill as its BodySink),
// and from then every client of that digest is a reader of this fill. The client that started it
// reads it through a StarterReader (from byte 0: pushed live, or read back from the store when it
// falls behind); clients on any worker follow it with CacheFollower, woken through their mailbox
// (cache::FillProgress). A reader leaving never cancels the fill: it goes on to its commit with no
// reader at all.
//
// Only verified bytes complete a response: every reader holds the last byte back until the
// commit (which checks length and SHA-256) succeeds; on a mismatch the fill fails and every
// reader is cut off before it.
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/event_handles.h"
#include "base/result.h"
#include "cache/blob_store.h"
#include "cache/fill_budget.h"
#include "cache/index.h"
#include "proxy/cache/cache_fill.h"
#include "proxy/forward/exchange.h"
#include "proxy/forward/exchange_tap.h"
#include "proxy/observe/metrics.h"
#include "proxy/request_handler.h"

namespace regcache::proxy {

class StarterReader;

class Fill final : public BodySink {
public:
  // What CacheTap::takeBody set up: the write to the store, the budget it reserved and the
  // metric it holds. `starter` is the client whose request started the fill; only its names
  // (log prefix, peer, user) are kept.
  struct Start {
    CacheFill what;
    net::Endpoint registry; // the registry the client named (not a redirect's storage)
    std::unique_ptr<cache::BlobWrite> writer;
    cache::FillBudget::Reservation reservation;
    Metrics::FillHold hold;
    std::uint64_t size = 0; // the announced Content-Length
    std::string contentType;
  };
  Fill(HandlerServices &services, Start start, const ClientSide &starter);
  // Tells readers the fill failed if it had not ended.
  ~Fill();
  Fill(const Fill &) = delete;
  Fill &operator=(const Fill &) = delete;

  // The side of the fetch the Exchange answers to once it belongs to the fill.
  ClientSide &fetchEnd() { return fetchEnd_; }
  // Takes the Exchange (the session's handler until now) that streams the body into append().
  void adoptFetch(std::unique_ptr<RequestHandler> owner, Exchange &fetch);

  // From the Exchange: decoded body bytes, valid only during the call.
  void append(std::string_view data) override;
  // From the Exchange: the response was read whole; verify, commit and index.
  void onFetchComplete() override;
  // From the Exchange (through fetchEnd()): the fetch failed; readers are cut off.
  void onFetchFailed(const std::string &why);

  // The starter's reader, on this worker's loop: attach/detach as it comes and goes. While it
  // reads live (not behind) and its output is full, the fetch waits for it only when the fill
  // has become a pass-through (the store failed); otherwise it falls behind and reads back.
  void attachStarter(StarterReader *reader) { starter_ = reader; }
  void detachStarter();
  // The starter cannot keep up and cannot read back either: hold upstream reads until it drains.
  void holdForStarter(bool held);
  // Opens a reader of the write in progress (valid past the commit) on this worker's loop.
  Result<std::unique_ptr<cache::BlobReader>> openReader();
  // Bytes in the store so far.
  std::uint64_t stored() const { return writer_ ? writer_->appended() : 0; }
  std::uint64_t size() const { return size_; }
  const std::string &digestText() const { return digestText_; }

private:
  class FetchEnd final : public ClientSide {
  public:
    FetchEnd(Fill &fill, HandlerServices &services, const ClientSide &starter);
    HandlerServices &services() override { return services_; }
    const std::string &logPrefix() const override { return prefix_; }
    const net::SocketAddress &peer() const override { return peer_; }
    const std::string &user() const override { return user_; }
    evbuffer *clientOutput() override;
    bool clientOutputFull() const override { return false; }
    void pauseClientReads(bool) override {}
    void onResponseComplete(bool) override {}
    void abortClient(const std::string &reason) override { fill_.onFetchFailed(reason); }
    void forwardInstead() override { fill_.onFetchFailed("the fetch cannot be forwarded"); }
    void replaceHandler(std::unique_ptr<RequestHandler> next) override;
    std::unique_ptr<RequestHandler> handOver(std::unique_ptr<RequestHandler> next) override;

  private:
    Fill &fill_;
    HandlerServices &services_;
    std::string prefix_;
    net::SocketAddress peer_;
    std::string user_;
    EvBufferPtr sink_; // the fill's fetch sends nothing to a client: dropped
  };

  // Bytes of a fill handed to the store but not yet written past which upstream reads pause
  // (they resume at half): memory stays bounded when the disk is slower than the network.
  static constexpr std::uint64_t kQueueHigh = 4u << 20;
  // Body bytes gathered before one append: one I/O job and one completion per this many bytes,
  // not per TLS record (a loop turn reads one 16 KiB record when upstream is no faster than the
  // loop: handing each over at once cost two thread hand-offs per record).
  static constexpr std::size_t kAppendChunk = 256 * 1024;
  // How long fewer bytes than that wait: a trickling upstream's still reach the store, and so
  // followers and the status page, this late at most.
  static constexpr int kTrickleFlushMs = 5;

  void flush(); // hands pending_ to the store
  static void onTrickleTimer(evutil_socket_t, short, void *fill);
  void onAppended(Result<void> stored, std::size_t size);
  void onCommitted(const Result<void> &committed);
  void onIndexed(Result<void> indexed, const cache::BlobRecord &blob);
  // The store failed mid-fill: nothing is kept; a starter still reading live gets the rest
  // passed through, everyone else is cut off (or fetches on its own if it sent nothing yet).
  void abandonStore(const std::string &why);
  // The bytes the store never took (appends in flight, then pending_), if a copy of each is
  // kept; empties both.
  std::optional<std::string> takeUnstoredTail();
  // Tells followers (kCommitted or kFailed); idempotent.
  void publishEnd(cache::FillProgress::State state);
  // Frees the fetch and this fill on the next loop turn.
  void end();

  HandlerServices &services_;
  FetchEnd fetchEnd_;
  CacheFill what_;
  std::string digestText_;
  net::Endpoint registry_;
  std::unique_ptr<cache::BlobWrite> writer_; // its completions never run after it is gone
  cache::FillBudget::Reservation reservation_;
  Metrics::FillHold hold_;
  std::uint64_t size_ = 0;
  std::string contentType_;
  std::unique_ptr<RequestHandler> fetchOwner_;
  Exchange *fetch_ = nullptr;
  StarterReader *starter_ = nullptr;
  std::string pending_;   // body bytes not handed to writer_ yet
  EventPtr trickleTimer_; // armed while pending_ holds less than kAppendChunk
  // Appends handed to writer_ and not yet stored, in order, each with a copy of its bytes while
  // a starter is attached: if the store fails while the starter reads back, these are the bytes
  // it can get nowhere else (bounded by kQueueHigh, as upstream reads pause there).
  struct Unstored {
    std::size_t size = 0;
    std::string copy; // empty when no starter was attached
  };
  std::deque<Unstored> unstored_;
  std::uint64_t handed_ = 0; // handed to writer_ so far
  std::uint64_t queued_ = 0; // of those, not yet stored
  bool committing_ = false;  // the response is read whole; the store is committing it
  bool passThrough_ = false; // the store failed: bytes go to the starter alone
  bool ended_ = false;
  // Expires with the fill: the index writer's answer, posted from its thread, checks it first.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace regcache::proxy
