#pragma once
// A BlobStore that forwards to another and fails on demand: the stand-in for a bucket that is
// down, refuses uploads, or hands back wrong bytes, so the tiered store's fallbacks can be tested
// without an object store. Switches are atomics, flipped by the test while handles live.
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cache/blob_store.h"

namespace regcache::test {

class FaultyBlobStore final : public cache::BlobStore {
public:
  explicit FaultyBlobStore(std::shared_ptr<cache::BlobStore> inner) : inner_(std::move(inner)) {}

  std::atomic<bool> down{false}; // every operation fails (kConnect), as if refused
  // Uploads fail at commit (kIo), nothing kept, as when the bytes verified but could not be made
  // durable: the write's readers keep reading them until the write goes.
  std::atomic<bool> failCommits{false};
  // Uploads fail at the next append (kIo), which the write does not count as appended (a full
  // disk): what it appended before stays readable until the write goes.
  std::atomic<bool> failAppends{false};
  std::atomic<bool> corruptReads{false}; // readers return the bytes with the first one flipped
  // While set, appends complete only when releaseAppends() is called: the store lags behind the
  // fill (appended() stays where it was). An append released after failAppends was set fails.
  std::atomic<bool> holdAppends{false};
  std::atomic<int> begins{0}, opens{0}, stats{0}, commits{0}; // what was asked
  std::atomic<std::uint64_t> appendedBytes{0};                // by appends that succeeded

  cache::BlobStore &inner() { return *inner_; }

  // Ends holdAppends: the held completions run on their loops, in order, then every later one
  // after them.
  void releaseAppends() {
    std::lock_guard lock(heldMutex_);
    holdAppends = false;
    for (auto &[completions, completion] : held_)
      completions->post(std::move(completion));
    held_.clear();
  }

  Result<std::unique_ptr<cache::BlobWrite>> begin(const cache::Digest &digest,
                                                  cache::CompletionQueue &completions) override {
    ++begins;
    if (down) return refused();
    auto write = inner_->begin(digest, completions);
    if (!write.ok()) return write.failure();
    return std::unique_ptr<cache::BlobWrite>(
        new Write(*this, std::move(write.value()), completions));
  }
  Result<std::unique_ptr<cache::BlobReader>>
  openReader(const cache::Digest &digest, cache::CompletionQueue &completions) override {
    ++opens;
    if (down) return refused();
    auto reader = inner_->openReader(digest, completions);
    if (!reader.ok()) return reader.failure();
    return std::unique_ptr<cache::BlobReader>(new Reader(*this, std::move(reader.value())));
  }
  void stat(const cache::Digest &digest, cache::CompletionQueue &completions,
            Done<cache::BlobInfo> done) override {
    ++stats;
    if (down) return completions.post([done = std::move(done)] { done(refused()); });
    inner_->stat(digest, completions, std::move(done));
  }
  void remove(const cache::Digest &digest, cache::CompletionQueue &completions,
              Done<void> done) override {
    if (down) return completions.post([done = std::move(done)] { done(refused()); });
    inner_->remove(digest, completions, std::move(done));
  }
  void list(cache::CompletionQueue &completions, Done<std::vector<cache::BlobInfo>> done) override {
    if (down) return completions.post([done = std::move(done)] { done(refused()); });
    inner_->list(completions, std::move(done));
  }
  void removeLeftovers(cache::CompletionQueue &completions, Done<std::size_t> done) override {
    if (down) return completions.post([done = std::move(done)] { done(refused()); });
    inner_->removeLeftovers(completions, std::move(done));
  }

private:
  static Failure refused() { return fail(Error::kConnect, "the test bucket is down"); }

  class Reader final : public cache::BlobReader {
  public:
    Reader(FaultyBlobStore &store, std::unique_ptr<cache::BlobReader> inner)
        : store_(store), inner_(std::move(inner)) {}
    void read(std::uint64_t offset, std::size_t max, ReadDone done) override {
      inner_->read(offset, max,
                   [this, offset, done = std::move(done)](Result<std::span<const char>> bytes) {
                     done(transform(std::move(bytes), offset));
                   });
    }
    std::optional<Result<std::span<const char>>> tryReadNow(std::uint64_t, std::size_t) override {
      return std::nullopt;
    }

  private:
    Result<std::span<const char>> transform(Result<std::span<const char>> bytes,
                                            std::uint64_t offset) {
      if (store_.down) return refused();
      if (!bytes.ok() || bytes->empty() || !store_.corruptReads || offset != 0) return bytes;
      copy_.assign(bytes->data(), bytes->size());
      copy_[0] = static_cast<char>(copy_[0] ^ 0x20);
      return std::span<const char>(copy_.data(), copy_.size());
    }
    FaultyBlobStore &store_;
    std::unique_ptr<cache::BlobReader> inner_; // its completions die with it, and so ours
    std::string copy_;
  };

  class Write final : public cache::BlobWrite {
  public:
    Write(FaultyBlobStore &store, std::unique_ptr<cache::BlobWrite> inner,
          cache::CompletionQueue &completions)
        : store_(store), inner_(std::move(inner)), completions_(completions) {}
    void append(std::string bytes, Done done) override {
      if (store_.failAppends || store_.down) bytes += "!"; // wrong bytes: the commit fails too
      bool failNow = store_.failAppends || store_.down;
      std::uint64_t size = bytes.size();
      // The inner write's completions run only while it, and so this write, lives; a held one
      // checks that this write still lives when it is released.
      inner_->append(std::move(bytes), [this, failNow, size,
                                        done = std::move(done)](Result<void> stored) mutable {
        auto complete = [this, alive = std::weak_ptr<bool>(alive_), failNow, size, stored,
                         done = std::move(done)] {
          if (!alive.lock()) return; // as the inner write's: none after the handle is gone
          if (failNow || (held_ && store_.failAppends)) {
            failed_ = true;
            done(fail(Error::kIo, "the test store refused an append"));
            return;
          }
          if (stored.ok() && !failed_) {
            appended_ += size;
            store_.appendedBytes += size;
          }
          done(stored);
        };
        {
          std::lock_guard lock(store_.heldMutex_);
          if (store_.holdAppends) {
            held_ = true;
            store_.held_.emplace_back(&completions_, std::move(complete));
            return;
          }
          if (held_) {
            completions_.post(std::move(complete)); // after the released ones, in order
            return;
          }
        }
        complete();
      });
    }
    void commit(std::optional<std::uint64_t> expectedSize, Done done) override {
      ++store_.commits;
      if (store_.failCommits || store_.down || failed_) {
        // The inner write is never committed: it keeps nothing once this write goes. An empty
        // append completes like the commit would, and only while the inner write lives.
        inner_->append(std::string(), [done = std::move(done)](Result<void>) {
          done(fail(Error::kIo, "the test store could not make the blob durable"));
        });
        return;
      }
      inner_->commit(expectedSize, std::move(done));
    }
    std::uint64_t appended() const override { return appended_; }
    Result<std::unique_ptr<cache::BlobReader>>
    openReader(cache::CompletionQueue &completions) override {
      return inner_->openReader(completions);
    }
    std::shared_ptr<cache::BlobReaderSource> readerSource() override {
      return inner_->readerSource();
    }

  private:
    FaultyBlobStore &store_;
    std::unique_ptr<cache::BlobWrite> inner_;
    std::uint64_t appended_ = 0; // by appends that succeeded, before any failed
    bool failed_ = false;
    cache::CompletionQueue &completions_;
    bool held_ = false;                                          // an append of this write was held
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true); // for the held completions
  };

  std::shared_ptr<cache::BlobStore> inner_;
  std::mutex heldMutex_;
  std::vector<std::pair<cache::CompletionQueue *, std::function<void()>>> held_;
};

} // namespace regcache::test
