#pragma once
// The client whose request started a fill, as one of its readers (proxy/cache/fill.h). It reads
// from byte 0: the fill pushes each body byte to it as upstream sends it, and holds the newest
// ones back until the commit verifies the digest. When the client's output is full it does not
// hold up the fill: it falls behind and reads the write back from the store at its own pace.
// Leaving never cancels the fill.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/event_handles.h"
#include "cache/blob_store.h"
#include "proxy/observe/access_log.h"
#include "proxy/request_handler.h"

namespace regcache::proxy {

class Fill;

class StarterReader final : public RequestHandler {
public:
  // `record` is the access record of the Exchange that started the fill; `head` the response
  // head it framed for this client.
  StarterReader(ClientSide &client, Fill &fill, AccessRecord record, std::string head,
                bool keepAlive);
  ~StarterReader() override;

  void start() override;
  void onRequestBody(std::string_view) override {}
  void onRequestEnd() override {}
  void onClientDrained() override;
  void onClientClosed() override;

  // From the fill, on this loop:
  void onBytes(std::string_view data); // upstream's next body bytes
  void onStored();                     // more of the write is in the store
  // Verified and stored (`note` says how the index took it): the last bytes may go out.
  void onCommitted(const std::string &note);
  // The fill failed (wrong bytes, upstream gone, ...): cut off before the last byte.
  void onFailed(const std::string &why);
  // The store failed mid-fill: reading live, the rest comes pushed and unverified, as a plain
  // forward would send it; reading back, the rest is gone and the client is cut off.
  void onStoreAbandoned(const std::string &why);
  // The whole body went by but was not stored (a store error at the commit, or after
  // onStoreAbandoned): what this client got live completes its response; if behind, it is cut.
  void onUncachedEnd();
  // The store failed while this client read back: `write` (the failed one, kept until this
  // client caught up) holds the body up to `stored`, `tail` what came after it so far. The
  // client reads the one, then gets the other and the rest of the body passed through, as a
  // plain forward would send it (`upstreamDone`: the fill got the whole body already).
  void onStoreFailedBehind(std::unique_ptr<cache::BlobWrite> write, std::uint64_t stored,
                           std::string tail, bool upstreamDone, const std::string &why);
  // Reading the fill back from the store, not live.
  bool isBehind() const { return behind_ && !done_; }

private:
  static constexpr std::size_t kReadChunk = 256 * 1024;
  // The held bytes to the client, written at once when nothing is queued before them.
  void sendHeld();
  void fallBehind();
  void sendFromStore();
  bool onReadBack(const Result<std::span<const char>> &bytes);
  void finish();
  void abort(const std::string &why);
  void leaveFill();
  void catchUp(); // after a store failure: read back all the store had; the rest from memory

  ClientSide &client_;
  Fill *fill_;
  std::string digestText_;
  AccessRecord record_;
  std::string head_;
  bool keepAlive_;
  std::uint64_t size_;
  std::uint64_t received_ = 0; // body bytes the fill pushed
  EvBufferPtr held_;           // the newest bytes, released once the fill is verified
  bool passThrough_ = false;
  bool holding_ = false; // asked the fill to hold upstream reads for this client
  bool behind_ = false;
  // After a store failure while behind: the failed write, read up to recoverLimit_, then tail_.
  std::unique_ptr<cache::BlobWrite> failedWrite_;
  EvBufferPtr tail_;
  std::uint64_t recoverLimit_ = 0;
  bool recovering_ = false;
  bool upstreamDone_ = false;
  std::unique_ptr<cache::BlobReader> behindReader_; // its completions never run after it is gone
  bool readingBack_ = false;
  std::uint64_t offset_ = 0; // body bytes handed to the client while behind_
  bool committed_ = false;
  bool done_ = false;
};

} // namespace regcache::proxy
