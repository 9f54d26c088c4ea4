#include "cache/s3/s3_blob_handles.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

#include "base/log.h"
#include "base/sha256.h"
#include "cache/s3/s3_xml.h"

namespace regcache::cache::s3 {
namespace {

constexpr std::size_t kKnownLimit = 100000;
constexpr std::uint64_t kMaxParts = 10000;

std::optional<std::uint64_t> headerNumber(const proxy::http::Headers &headers,
                                          std::string_view name) {
  auto text = headers.get(name);
  if (!text) return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size()) return std::nullopt;
  return value;
}

} // namespace

Failure answerFailure(const S3Client &client, const S3Request &request,
                      const S3Response &response) {
  std::string what = client.describe(request) + " answered " + std::to_string(response.status);
  if (auto error = parseS3Error(response.body)) what += " (" + error->code + ")";
  if (response.status == 404) return fail(Error::kNotFound, what);
  if (response.status == 403) return fail(Error::kPolicy, what);
  return fail(Error::kIo, what);
}

std::string S3BlobStore::Shared::blobKey(const Digest &digest) const {
  return (options.prefix.empty() ? "" : options.prefix + "/") + "blobs/sha256/" + digest.hex;
}

void S3BlobStore::Shared::remember(const Digest &digest, std::uint64_t size) {
  std::lock_guard lock(knownMutex_);
  if (known_.size() >= kKnownLimit) known_.clear();
  known_[digest.hex] = size;
}

void S3BlobStore::Shared::forget(const Digest &digest) {
  std::lock_guard lock(knownMutex_);
  known_.erase(digest.hex);
}

std::optional<std::uint64_t> S3BlobStore::Shared::knownSize(const Digest &digest) {
  std::lock_guard lock(knownMutex_);
  auto found = known_.find(digest.hex);
  if (found == known_.end()) return std::nullopt;
  return found->second;
}

Result<BlobInfo> S3BlobStore::Shared::head(const Digest &digest) {
  S3Request request;
  request.method = "HEAD";
  request.key = blobKey(digest);
  request.payloadHash = std::string(kEmptyPayloadHash);
  auto response = client->send(request, 0);
  if (!response.ok()) return response.failure();
  if (response->status == 404) {
    forget(digest);
    return fail(Error::kNotFound, digest.toString() + " is not in the bucket");
  }
  if (response->status != 200) return answerFailure(*client, request, *response);
  auto size = headerNumber(response->headers, "Content-Length");
  if (!size) return fail(Error::kUpstream, client->describe(request) + ": no Content-Length");
  BlobInfo info{digest, *size, {}};
  if (auto modified = response->headers.get("Last-Modified")) {
    if (auto time = parseHttpDate(*modified)) info.modified = *time;
  }
  remember(digest, *size);
  return info;
}

void S3BlobStore::Shared::abortUpload(const std::string &key, const std::string &uploadId) {
  S3Request request;
  request.method = "DELETE";
  request.key = key;
  request.query = {{"uploadId", uploadId}};
  request.payloadHash = std::string(kEmptyPayloadHash);
  auto response = client->send(request, 64 * 1024);
  if (response.ok() &&
      (response->status == 204 || response->status == 200 || response->status == 404)) {
    ++client->stats().uploadsAborted;
    return;
  }
  // Left for removeLeftovers (by age) or the bucket's lifecycle rule.
  log::cache().warn("s3: could not abort the upload of {}: {}", key,
                    response.ok() ? answerFailure(*client, request, *response).detail
                                  : response.failure().detail);
}

// --- reader of a committed blob -------------------------------------------------------------

namespace {

// Blocking, on a store thread: the ranged GET of [start, start + length) into `window`, which
// holds exactly those bytes when it succeeds (nothing when it fails). Stops early once
// `cancelled` is set (its reader went away).
Result<void> getRange(S3BlobStore::Shared &shared, const Digest &digest, std::uint64_t size,
                      std::uint64_t start, std::uint64_t length, std::string &window,
                      const std::atomic<bool> &cancelled) {
  if (cancelled.load(std::memory_order_acquire)) return fail(Error::kIo, "cancelled");
  S3Request request;
  request.method = "GET";
  request.key = shared.blobKey(digest);
  request.headers = {
      {"Range", "bytes=" + std::to_string(start) + "-" + std::to_string(start + length - 1)}};
  request.payloadHash = std::string(kEmptyPayloadHash);
  window.reserve(static_cast<std::size_t>(length));
  bool overran = false;
  auto response = shared.client->stream(request, [&](std::string_view data) {
    if (cancelled.load(std::memory_order_acquire)) return false;
    if (window.size() + data.size() > length) {
      overran = true; // more than asked: a lying endpoint
      return false;
    }
    window.append(data);
    return true;
  });
  Result<void> got;
  if (!response.ok()) {
    got = overran ? fail(Error::kUpstream, request.key + ": more bytes than the range asked")
                  : response.failure();
  } else if (response->status == 404 || response->status == 416) {
    shared.forget(digest);
    got = fail(Error::kNotFound, digest.toString() + " went away or shrank in the bucket");
  } else if (response->status != 206 &&
             !(response->status == 200 && start == 0 && length == size)) {
    got = answerFailure(*shared.client, request, *response);
  } else if (window.size() != length) {
    got = fail(Error::kUpstream, request.key + ": " + std::to_string(window.size()) +
                                     " bytes for a range of " + std::to_string(length));
  }
  if (!got.ok()) std::string().swap(window);
  return got;
}

} // namespace

S3BlobReader::S3BlobReader(Digest digest, std::uint64_t size,
                           std::shared_ptr<S3BlobStore::Shared> shared, IoPool &pool,
                           CompletionQueue &completions)
    : digest_(std::move(digest)), size_(size), shared_(std::move(shared)), pool_(pool),
      guard_(completions) {}

// The guard (last member) goes first: no completion runs after this. The GETs in flight stop
// reading, and each frees its window when its job ends.
S3BlobReader::~S3BlobReader() {
  std::lock_guard lock(mutex_);
  dropAhead();
}

std::optional<std::span<const char>> S3BlobReader::fromWindow(std::uint64_t offset,
                                                              std::size_t max) const {
  if (offset >= size_) return std::span<const char>();
  const Window &window = *window_;
  if (offset < window.start || offset >= window.start + window.bytes.size()) return std::nullopt;
  std::size_t at = static_cast<std::size_t>(offset - window.start);
  return std::span<const char>(window.bytes.data() + at,
                               std::min<std::size_t>(max, window.bytes.size() - at));
}

std::optional<Result<std::span<const char>>> S3BlobReader::tryReadNow(std::uint64_t offset,
                                                                      std::size_t max) {
  std::lock_guard lock(mutex_);
  if (auto bytes = fromWindow(offset, max)) return Result<std::span<const char>>(*bytes);
  return std::nullopt;
}

void S3BlobReader::startFetch(std::uint64_t start, std::uint64_t length) {
  Fetch fetch;
  fetch.id = nextId_++;
  fetch.start = start;
  fetch.length = length;
  fetch.window = std::make_shared<Window>();
  fetch.window->start = start;
  fetch.cancelled = std::make_shared<std::atomic<bool>>(false);
  // The job owns what it writes (window, flag); `this` is used only by the completion, which
  // the guard runs only while this reader lives.
  pool_.post([this, shared = shared_, digest = digest_, size = size_, start, length,
              window = fetch.window, cancelled = fetch.cancelled, id = fetch.id,
              poster = guard_.poster()] {
    Result<void> got = getRange(*shared, digest, size, start, length, window->bytes, *cancelled);
    poster.post([this, id, got] { onLanded(id, got); });
  });
  ahead_.push_back(std::move(fetch));
}

void S3BlobReader::fetchAhead() {
  if (window_->bytes.empty()) return; // nothing read yet, or a failure: no order to follow
  std::uint64_t next = ahead_.empty() ? window_->start + window_->bytes.size()
                                      : ahead_.back().start + ahead_.back().length;
  while (ahead_.size() < shared_->options.readAheadWindows && next < size_) {
    std::uint64_t length = std::min<std::uint64_t>(size_ - next, shared_->options.readAheadBytes);
    startFetch(next, length);
    next += length;
  }
}

void S3BlobReader::dropAhead() {
  for (Fetch &fetch : ahead_)
    fetch.cancelled->store(true, std::memory_order_release);
  ahead_.clear();
}

void S3BlobReader::onLanded(std::uint64_t id, Result<void> got) {
  std::function<void()> waiter;
  {
    std::lock_guard lock(mutex_);
    for (Fetch &fetch : ahead_) {
      if (fetch.id != id) continue;
      fetch.landed = true;
      fetch.got = std::move(got);
      waiter = std::exchange(fetch.waiter, nullptr);
      break;
    }
    // Not found: dropped by a seek meanwhile; its bytes went with the job.
  }
  if (waiter) waiter();
}

void S3BlobReader::deliver(std::uint64_t offset, std::size_t max, ReadDone done) {
  Result<std::span<const char>> answer = std::span<const char>();
  {
    std::lock_guard lock(mutex_);
    Fetch fetch = std::move(ahead_.front());
    ahead_.pop_front();
    if (!fetch.got.ok()) {
      dropAhead();
      window_ = std::make_shared<Window>();
      answer = fetch.got.failure();
    } else {
      window_ = std::move(fetch.window);
      fetchAhead(); // the bucket works on what follows while the owner handles this window
      if (auto bytes = fromWindow(offset, max)) answer = *bytes;
    }
  }
  done(std::move(answer));
}

void S3BlobReader::read(std::uint64_t offset, std::size_t max, ReadDone done) {
  std::unique_lock lock(mutex_);
  if (auto bytes = fromWindow(offset, max)) {
    if (offset < size_) fetchAhead();
    lock.unlock();
    guard_.post([bytes = *bytes, done = std::move(done)] { done(bytes); });
    return;
  }
  // One request per window, not per read; a read outside what is asked already is a seek.
  if (ahead_.empty() || offset < ahead_.front().start ||
      offset >= ahead_.front().start + ahead_.front().length) {
    dropAhead();
    startFetch(offset, std::min<std::uint64_t>(size_ - offset,
                                               std::max(shared_->options.readAheadBytes, max)));
  }
  Fetch &first = ahead_.front();
  auto answer = [this, offset, max, done = std::move(done)]() mutable {
    deliver(offset, max, std::move(done));
  };
  if (!first.landed) {
    first.waiter = std::move(answer); // its completion answers
    return;
  }
  lock.unlock();
  guard_.post(std::move(answer)); // never inline: completions run through the queue
}

// --- the write ------------------------------------------------------------------------------

struct S3BlobWrite::State {
  Digest digest;
  std::shared_ptr<S3BlobStore::Shared> shared;
  std::shared_ptr<ReadableFile> file; // the spool, read by readers of the write (S3BlobWrite)
  // What parts are sent from: the spool (S3BlobWrite), or the local tier's write (S3BlobCopy).
  std::shared_ptr<const StoredBytes> source;
  std::atomic<bool> abandoned{false};

  // The write strand's: spooling and hashing (S3BlobWrite only).
  Sha256 hasher;
  std::uint64_t written = 0;
  std::uint64_t partStart = 0; // where the part being filled begins
  int nextPart = 1;
  std::optional<Failure> failed;
  bool finished = false; // committed or discarded

  // The upload strand's: the multipart upload.
  std::string uploadId;
  std::vector<std::pair<int, std::string>> parts; // number, ETag
  std::optional<Failure> uploadFailed;
  bool uploadEnded = false; // completed or aborted

  Result<void> spool(const std::string &bytes);
  void uploadPart(int number, std::uint64_t offset, std::uint64_t length);
  // The upload of a blob of `size` bytes ends: its last part [offset, offset + length), then
  // CompleteMultipartUpload (or one PUT if no part went up). The bytes were verified before.
  Result<void> finish(int lastPart, std::uint64_t offset, std::uint64_t length, std::uint64_t size);
  void abortUpload();
  Result<void> putWhole(std::uint64_t size);
  Result<void> keepUnlessAbandoned(std::uint64_t size);
};

// The owner may have gone while the last request was in flight: it asked for nothing to be
// kept, so the object just made is removed again (a blob is content-addressed: removing it loses
// a copy, never someone else's different bytes).
Result<void> S3BlobWrite::State::keepUnlessAbandoned(std::uint64_t size) {
  if (!abandoned.load(std::memory_order_acquire)) {
    shared->remember(digest, size);
    ++shared->client->stats().uploadsCompleted;
    return {};
  }
  S3Request remove;
  remove.method = "DELETE";
  remove.key = shared->blobKey(digest);
  remove.payloadHash = std::string(kEmptyPayloadHash);
  (void)shared->client->send(remove, 64 * 1024);
  return fail(Error::kIo, "abandoned");
}

Result<void> S3BlobWrite::State::spool(const std::string &bytes) {
  if (failed) return *failed;
  std::string_view rest = bytes;
  while (!rest.empty()) {
    ssize_t n = ::pwrite(file->fd.get(), rest.data(), rest.size(), static_cast<off_t>(written));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      failed = fail(Error::kIo, std::string("write to the S3 spool: ") + std::strerror(errno));
      return *failed;
    }
    hasher.update(rest.substr(0, static_cast<std::size_t>(n)));
    written += static_cast<std::uint64_t>(n);
    rest.remove_prefix(static_cast<std::size_t>(n));
    file->readable.store(written, std::memory_order_release);
  }
  return {};
}

void S3BlobWrite::State::uploadPart(int number, std::uint64_t offset, std::uint64_t length) {
  if (uploadFailed || uploadEnded || abandoned.load(std::memory_order_acquire)) return;
  S3Client &client = *shared->client;
  std::string key = shared->blobKey(digest);
  if (uploadId.empty()) {
    S3Request initiate;
    initiate.method = "POST";
    initiate.key = key;
    initiate.query = {{"uploads", ""}};
    initiate.payloadHash = std::string(kEmptyPayloadHash);
    auto response = client.send(initiate, 64 * 1024);
    if (!response.ok()) return void(uploadFailed = response.failure());
    if (response->status != 200) {
      return void(uploadFailed = answerFailure(client, initiate, *response));
    }
    auto id = parseUploadId(response->body);
    if (!id.ok()) return void(uploadFailed = id.failure());
    uploadId = *id;
  }
  S3Request part;
  part.method = "PUT";
  part.key = key;
  part.query = {{"partNumber", std::to_string(number)}, {"uploadId", uploadId}};
  part.bodySource = source.get();
  part.bodyOffset = offset;
  part.bodyLength = length;
  auto response = client.send(part, 64 * 1024);
  if (!response.ok()) return void(uploadFailed = response.failure());
  auto etag = response->headers.get("ETag");
  if (response->status != 200 || !etag || etag->empty() || etag->size() > 256) {
    return void(uploadFailed = response->status != 200
                                   ? answerFailure(client, part, *response)
                                   : fail(Error::kUpstream, client.describe(part) + ": no ETag"));
  }
  parts.emplace_back(number, std::string(*etag));
}

void S3BlobWrite::State::abortUpload() {
  if (uploadEnded) return;
  uploadEnded = true;
  if (!uploadId.empty()) shared->abortUpload(shared->blobKey(digest), uploadId);
}

Result<void> S3BlobWrite::State::putWhole(std::uint64_t size) {
  S3Request put;
  put.method = "PUT";
  put.key = shared->blobKey(digest);
  put.bodySource = source.get();
  put.bodyLength = size;
  put.payloadHash = digest.hex; // verified: the bucket checks the bytes against it too
  auto response = shared->client->send(put, 64 * 1024);
  if (!response.ok()) return response.failure();
  if (response->status != 200) return answerFailure(*shared->client, put, *response);
  return {};
}

Result<void> S3BlobWrite::State::finish(int lastPart, std::uint64_t offset, std::uint64_t length,
                                        std::uint64_t size) {
  if (abandoned.load(std::memory_order_acquire)) {
    abortUpload();
    return fail(Error::kIo, "abandoned");
  }
  if (uploadId.empty() && !uploadFailed) { // smaller than a part: one PUT
    uploadEnded = true;
    auto put = putWhole(size);
    if (!put.ok()) return put;
    return keepUnlessAbandoned(size);
  }
  if (length > 0) uploadPart(lastPart, offset, length);
  if (uploadFailed) {
    Failure failure = *uploadFailed;
    abortUpload();
    return failure;
  }
  std::string body = "<CompleteMultipartUpload>";
  for (const auto &[number, etag] : parts) {
    std::string escaped;
    for (char c : etag) {
      if (c == '&')
        escaped += "&amp;";
      else if (c == '<')
        escaped += "&lt;";
      else if (c == '>')
        escaped += "&gt;";
      else
        escaped += c;
    }
    body += "<Part><PartNumber>" + std::to_string(number) + "</PartNumber><ETag>" + escaped +
            "</ETag></Part>";
  }
  body += "</CompleteMultipartUpload>";
  S3Request complete;
  complete.method = "POST";
  complete.key = shared->blobKey(digest);
  complete.query = {{"uploadId", uploadId}};
  complete.headers = {{"Content-Type", "application/xml"}};
  complete.body = body;
  complete.payloadHash = sha256Hex(body);
  auto response = shared->client->send(complete, 64 * 1024);
  Result<void> completed;
  if (!response.ok()) {
    completed = response.failure();
  } else if (response->status != 200 || parseS3Error(response->body)) {
    completed = answerFailure(*shared->client, complete, *response);
  }
  if (!completed.ok()) {
    abortUpload();
    return completed;
  }
  uploadEnded = true;
  return keepUnlessAbandoned(size);
}

S3BlobWrite::S3BlobWrite(Digest digest, UniqueFd spool, std::shared_ptr<S3BlobStore::Shared> shared,
                         IoPool &pool, CompletionQueue &completions)
    : state_(std::make_shared<State>()), strand_(pool.strand()), uploads_(pool.strand()),
      pool_(pool), guard_(completions) {
  state_->digest = std::move(digest);
  state_->shared = std::move(shared);
  state_->file = std::make_shared<ReadableFile>();
  state_->file->fd = std::move(spool);
  state_->source = std::make_shared<FileStoredBytes>(state_->file);
}

S3BlobWrite::~S3BlobWrite() {
  // An uncommitted write, or one whose commit has not finished, leaves nothing in the bucket.
  state_->abandoned.store(true, std::memory_order_release);
  strand_->post([state = state_, uploads = uploads_] {
    if (state->finished) return; // the commit's own job decides (it sees `abandoned`)
    state->finished = true;
    state->file->gone.store(true, std::memory_order_release);
    uploads->post([state] { state->abortUpload(); });
  });
}

void S3BlobWrite::append(std::string bytes, Done done) {
  std::uint64_t size = bytes.size();
  strand_->post([state = state_, uploads = uploads_, bytes = std::move(bytes), size, this,
                 done = std::move(done), poster = guard_.poster()]() mutable {
    Result<void> stored = state->spool(bytes);
    // Each full part goes up on the upload strand while the spool goes on filling.
    std::uint64_t partSize = state->shared->options.partSize;
    if (stored.ok() && state->written > partSize * kMaxParts) { // S3 takes 10000 parts at most
      state->failed = fail(Error::kTooLarge, "a blob larger than 10000 parts");
      stored = *state->failed;
    }
    while (stored.ok() && state->written - state->partStart >= partSize) {
      uploads->post([state, number = state->nextPart, offset = state->partStart, partSize] {
        state->uploadPart(number, offset, partSize);
      });
      ++state->nextPart;
      state->partStart += partSize;
    }
    // Runs on the owner's thread, only while this handle lives (the guard's promise).
    poster.post([this, stored, size, done = std::move(done)] {
      if (stored.ok()) appended_ += size;
      done(stored);
    });
  });
}

void S3BlobWrite::commit(std::optional<std::uint64_t> expectedSize, Done done) {
  if (committing_) {
    guard_.post(
        [done = std::move(done)] { done(fail(Error::kInternal, "a second commit of one write")); });
    return;
  }
  committing_ = true;
  strand_->post([state = state_, uploads = uploads_, expectedSize, done = std::move(done),
                 poster = guard_.poster()]() mutable {
    state->finished = true;
    std::optional<Failure> refused = state->failed;
    if (!refused) {
      std::string actual = state->hasher.finishHex();
      if (actual != state->digest.hex) {
        refused = fail(Error::kUpstream, "digest mismatch: expected " + state->digest.toString() +
                                             ", got sha256:" + actual);
      } else if (expectedSize && *expectedSize != state->written) {
        refused =
            fail(Error::kUpstream, "length mismatch: expected " + std::to_string(*expectedSize) +
                                       " bytes, got " + std::to_string(state->written));
      }
    }
    if (refused) { // nothing of it may reach the bucket, nor its readers
      state->file->gone.store(true, std::memory_order_release);
      uploads->post([state] { state->abortUpload(); });
      poster.post([refused = *refused, done = std::move(done)] { done(refused); });
      return;
    }
    uploads->post([state, lastPart = state->nextPart, offset = state->partStart,
                   length = state->written - state->partStart, size = state->written,
                   done = std::move(done), poster]() mutable {
      Result<void> committed = state->finish(lastPart, offset, length, size);
      if (!committed.ok()) {
        log::cache().warn("s3: {} not stored in the bucket: {}", state->digest.toString(),
                          committed.failure().detail);
      }
      poster.post([committed, done = std::move(done)] { done(committed); });
    });
  });
}

Result<std::unique_ptr<BlobReader>> S3BlobWrite::openReader(CompletionQueue &completions) {
  return std::unique_ptr<BlobReader>(new FileBlobReader(state_->file, pool_, completions, true));
}

std::shared_ptr<BlobReaderSource> S3BlobWrite::readerSource() {
  return std::make_shared<FileReaderSource>(state_->file, pool_, true);
}

// --- the copy of a verified local write -------------------------------------------------------

// Why no SHA-256 here: the tiered store commits a copy only after its source, the local tier's
// write, committed, and that commit checked the digest and the size of exactly the bytes this
// copy sends (a write's stored bytes never change). So the multipart upload is completed only
// after this host verified its bytes, as with S3BlobWrite, without hashing them twice; and a
// source that failed (a full disk, wrong bytes) is never committed, so its copy is aborted.

S3BlobCopy::S3BlobCopy(Digest digest, std::shared_ptr<const StoredBytes> source,
                       std::shared_ptr<S3BlobStore::Shared> shared, IoPool &pool,
                       CompletionQueue &completions)
    : state_(std::make_shared<S3BlobWrite::State>()), uploads_(pool.strand()),
      partSize_(shared->options.partSize), guard_(completions) {
  state_->digest = std::move(digest);
  state_->shared = std::move(shared);
  state_->source = std::move(source);
}

S3BlobCopy::~S3BlobCopy() {
  // Behind a commit's job, if any: that job sees `abandoned` and keeps nothing either.
  state_->abandoned.store(true, std::memory_order_release);
  uploads_->post([state = state_] { state->abortUpload(); });
}

void S3BlobCopy::grew(std::uint64_t stored) {
  if (stored <= told_ || failed_) return;
  told_ = stored;
  if (told_ > partSize_ * kMaxParts) { // S3 takes 10000 parts at most
    failed_ = fail(Error::kTooLarge, "a blob larger than 10000 parts");
    return;
  }
  // Each full part goes up on the upload strand, read from the source when its turn comes.
  while (told_ - partStart_ >= partSize_) {
    uploads_->post([state = state_, number = nextPart_, offset = partStart_, length = partSize_] {
      state->uploadPart(number, offset, length);
    });
    ++nextPart_;
    partStart_ += partSize_;
  }
}

void S3BlobCopy::commitVerified(std::uint64_t size, Done done) {
  if (committing_) {
    guard_.post(
        [done = std::move(done)] { done(fail(Error::kInternal, "a second commit of one copy")); });
    return;
  }
  committing_ = true;
  if (!failed_ && size != told_) {
    failed_ = fail(Error::kInternal, "commit of " + std::to_string(size) + " bytes, " +
                                         std::to_string(told_) + " stored");
  }
  if (failed_) {
    uploads_->post([state = state_] { state->abortUpload(); });
    guard_.post([failure = *failed_, done = std::move(done)] { done(failure); });
    return;
  }
  uploads_->post([state = state_, lastPart = nextPart_, offset = partStart_,
                  length = size - partStart_, size, done = std::move(done),
                  poster = guard_.poster()]() mutable {
    Result<void> committed = state->finish(lastPart, offset, length, size);
    if (!committed.ok()) {
      log::cache().warn("s3: {} not stored in the bucket: {}", state->digest.toString(),
                        committed.failure().detail);
    }
    poster.post([committed, done = std::move(done)] { done(committed); });
  });
}

} // namespace regcache::cache::s3
