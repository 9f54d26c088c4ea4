#include "cache/s3/s3_blob_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <stdexcept>

#include "base/handle.h"
#include "base/log.h"
#include "cache/s3/s3_blob_handles.h"
#include "cache/s3/s3_xml.h"

namespace regcache::cache::s3 {
namespace {

constexpr std::size_t kListBodyLimit = 4u << 20; // a page of 1000 keys is ~300 KiB
constexpr std::size_t kMaxListPages = 100000;    // 100 M objects: an endless listing stops
constexpr const char *kSpoolNamePrefix = "s3spool-";

// A spool file nobody else can open: O_TMPFILE, or (filesystems without it) a named file
// unlinked at once; a crash in between leaves a kSpoolNamePrefix file for removeLeftovers.
Result<UniqueFd> openSpool(int dir) {
  UniqueFd fd(::openat(dir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (fd) return fd;
  static thread_local std::mt19937_64 random{std::random_device{}()};
  std::string name = kSpoolNamePrefix + std::to_string(random());
  fd.reset(::openat(dir, name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return fail(Error::kIo, std::string("create an S3 spool file: ") + std::strerror(errno));
  ::unlinkat(dir, name.c_str(), 0);
  return fd;
}

std::size_t sweepSpool(int dir) {
  std::size_t removed = 0;
  UniqueFd copy(::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!copy) return 0;
  Handle<DIR, ::closedir> listing(::fdopendir(copy.get()));
  if (!listing) return 0;
  copy.release();
  std::vector<std::string> names;
  while (dirent *entry = ::readdir(listing.get())) {
    std::string name = entry->d_name;
    if (name.rfind(kSpoolNamePrefix, 0) == 0) names.push_back(name);
  }
  for (const auto &name : names)
    if (::unlinkat(dir, name.c_str(), 0) == 0) ++removed;
  return removed;
}

// Every object under `prefix`, page by page; kUpstream/kIo if a page fails.
Result<std::vector<ListedObject>> listAll(S3Client &client, const std::string &prefix) {
  std::vector<ListedObject> objects;
  std::string token;
  for (std::size_t page = 0; page < kMaxListPages; ++page) {
    S3Request request;
    request.method = "GET";
    request.query = {{"list-type", "2"}, {"prefix", prefix}};
    if (!token.empty()) request.query.emplace_back("continuation-token", token);
    request.payloadHash = std::string(kEmptyPayloadHash);
    auto response = client.send(request, kListBodyLimit);
    if (!response.ok()) return response.failure();
    if (response->status != 200) return answerFailure(client, request, *response);
    auto parsed = parseListObjectsV2(response->body);
    if (!parsed.ok()) return parsed.failure();
    for (auto &object : parsed->objects)
      objects.push_back(std::move(object));
    if (!parsed->truncated) return objects;
    if (parsed->nextToken == token) return fail(Error::kUpstream, "a listing that repeats itself");
    token = parsed->nextToken;
  }
  return fail(Error::kTooLarge, "more listing pages than the store reads");
}

} // namespace

S3BlobStore::S3BlobStore(S3StoreOptions options)
    : options_(std::move(options)), pool_(std::max(1u, options_.ioThreads), "s3-io") {
  if (options_.bucket.empty()) throw std::invalid_argument("the S3 store needs a bucket");
  if (options_.partSize < kMinPartSize || options_.partSize > kMaxPartSize) {
    throw std::invalid_argument("the S3 part size must be 5 MiB to 64 MiB");
  }
  if (options_.spoolDir.empty()) throw std::invalid_argument("the S3 store needs a spool dir");
  client_ = std::make_unique<S3Client>(options_, stats_);
  std::error_code ec;
  std::filesystem::create_directories(options_.spoolDir, ec);
  auto shared = std::make_shared<Shared>();
  shared->client = client_.get();
  shared->options = options_;
  shared->spoolDir.reset(
      ::open(options_.spoolDir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!shared->spoolDir) {
    throw std::runtime_error("cannot open the S3 spool directory " + options_.spoolDir.string() +
                             ": " + std::strerror(errno));
  }
  shared_ = std::move(shared);
}

S3BlobStore::~S3BlobStore() = default;

std::string S3BlobStore::blobsPrefix() const {
  return (options_.prefix.empty() ? "" : options_.prefix + "/") + "blobs/sha256/";
}
std::string S3BlobStore::markersPrefix() const {
  return (options_.prefix.empty() ? "" : options_.prefix + "/") + "used/sha256/";
}
std::string S3BlobStore::blobKey(const Digest &digest) const { return blobsPrefix() + digest.hex; }
std::string S3BlobStore::markerKey(const Digest &digest) const {
  return markersPrefix() + digest.hex;
}

Result<std::unique_ptr<BlobWrite>> S3BlobStore::begin(const Digest &digest,
                                                      CompletionQueue &completions) {
  auto spool = openSpool(shared_->spoolDir.get());
  if (!spool.ok()) return spool.failure();
  return std::unique_ptr<BlobWrite>(
      new S3BlobWrite(digest, std::move(spool.value()), shared_, pool_, completions));
}

Result<std::unique_ptr<BlobCopy>> S3BlobStore::beginCopy(const Digest &digest,
                                                         std::shared_ptr<const StoredBytes> source,
                                                         CompletionQueue &completions) {
  if (!source) return fail(Error::kInternal, "a copy needs the bytes it copies");
  return std::unique_ptr<BlobCopy>(
      new S3BlobCopy(digest, std::move(source), shared_, pool_, completions));
}

Result<std::unique_ptr<BlobReader>> S3BlobStore::openReader(const Digest &digest,
                                                            CompletionQueue &completions) {
  std::optional<std::uint64_t> size = shared_->knownSize(digest);
  if (!size) {
    auto info = shared_->head(digest);
    if (!info.ok()) return info.failure();
    size = info->size;
  }
  return std::unique_ptr<BlobReader>(new S3BlobReader(digest, *size, shared_, pool_, completions));
}

void S3BlobStore::stat(const Digest &digest, CompletionQueue &completions, Done<BlobInfo> done) {
  pool_.post([shared = shared_, digest, &completions, done = std::move(done)]() mutable {
    auto info = shared->head(digest);
    completions.post([info = std::move(info), done = std::move(done)] { done(info); });
  });
}

void S3BlobStore::remove(const Digest &digest, CompletionQueue &completions, Done<void> done) {
  pool_.post([shared = shared_, digest, &completions, done = std::move(done)]() mutable {
    shared->forget(digest);
    S3Request request;
    request.method = "DELETE";
    request.key = shared->blobKey(digest);
    request.payloadHash = std::string(kEmptyPayloadHash);
    auto response = shared->client->send(request, 64 * 1024);
    Result<void> removed;
    if (!response.ok()) {
      removed = response.failure();
    } else if (response->status != 204 && response->status != 200 && response->status != 404) {
      removed = answerFailure(*shared->client, request, *response);
    }
    completions.post([removed, done = std::move(done)] { done(removed); });
  });
}

void S3BlobStore::list(CompletionQueue &completions, Done<std::vector<BlobInfo>> done) {
  pool_.post([this, &completions, done = std::move(done)]() mutable {
    auto objects = listAll(*client_, blobsPrefix());
    Result<std::vector<BlobInfo>> blobs = std::vector<BlobInfo>();
    if (!objects.ok()) {
      blobs = objects.failure();
    } else {
      for (const auto &object : *objects) {
        // Only a key the store writes names a blob: PREFIX/blobs/sha256/<64 lowercase hex>.
        auto digest = parseDigest("sha256:" + object.key.substr(blobsPrefix().size()));
        if (!digest) continue;
        shared_->remember(*digest, object.size);
        blobs->push_back(BlobInfo{*digest, object.size, object.lastModified});
      }
    }
    completions.post(
        [blobs = std::move(blobs), done = std::move(done)]() mutable { done(std::move(blobs)); });
  });
}

void S3BlobStore::removeLeftovers(CompletionQueue &completions, Done<std::size_t> done) {
  pool_.post([this, &completions, done = std::move(done)]() mutable {
    std::size_t removed = sweepSpool(shared_->spoolDir.get());
    auto cutoff = std::chrono::system_clock::now() - options_.abandonedUploadAge;
    auto uploads = listUploads();
    Result<std::size_t> result = removed;
    if (!uploads.ok()) {
      result = uploads.failure();
    } else {
      for (const auto &upload : *uploads) {
        if (upload.initiated > cutoff) continue; // perhaps a host's upload in flight
        shared_->abortUpload(upload.key, upload.uploadId);
        ++*result;
      }
    }
    completions.post([result, done = std::move(done)] { done(result); });
  });
}

Result<std::vector<ListedObject>> S3BlobStore::listObjects(const std::string &prefix) {
  return listAll(*client_, prefix);
}

Result<std::vector<ListedUpload>> S3BlobStore::listUploads() {
  std::vector<ListedUpload> uploads;
  std::string keyMarker, idMarker;
  for (std::size_t page = 0; page < kMaxListPages; ++page) {
    S3Request request;
    request.method = "GET";
    request.query = {{"uploads", ""}, {"prefix", blobsPrefix()}};
    if (!keyMarker.empty()) request.query.emplace_back("key-marker", keyMarker);
    if (!idMarker.empty()) request.query.emplace_back("upload-id-marker", idMarker);
    request.payloadHash = std::string(kEmptyPayloadHash);
    auto response = client_->send(request, kListBodyLimit);
    if (!response.ok()) return response.failure();
    if (response->status != 200) return answerFailure(*client_, request, *response);
    auto parsed = parseListMultipartUploads(response->body);
    if (!parsed.ok()) return parsed.failure();
    for (auto &upload : parsed->uploads)
      uploads.push_back(std::move(upload));
    if (!parsed->truncated) return uploads;
    if (parsed->nextKeyMarker == keyMarker && parsed->nextUploadIdMarker == idMarker) {
      return fail(Error::kUpstream, "an upload listing that repeats itself");
    }
    keyMarker = parsed->nextKeyMarker;
    idMarker = parsed->nextUploadIdMarker;
  }
  return fail(Error::kTooLarge, "more listing pages than the store reads");
}

Result<void> S3BlobStore::deleteObject(const std::string &key) {
  S3Request request;
  request.method = "DELETE";
  request.key = key;
  request.payloadHash = std::string(kEmptyPayloadHash);
  auto response = client_->send(request, 64 * 1024);
  if (!response.ok()) return response.failure();
  if (response->status != 204 && response->status != 200 && response->status != 404) {
    return answerFailure(*client_, request, *response);
  }
  return {};
}

void S3BlobStore::abortUpload(const std::string &key, const std::string &uploadId) {
  shared_->abortUpload(key, uploadId);
}

void S3BlobStore::markUsed(const Digest &digest) {
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(marksMutex_);
    auto found = marked_.find(digest.hex);
    if (found != marked_.end() && now - found->second < options_.markUsedInterval) return;
    if (marked_.size() >= 100000) marked_.clear(); // bounded: a few more PUTs at worst
    marked_[digest.hex] = now;
  }
  pool_.post([this, key = markerKey(digest)] {
    S3Request request;
    request.method = "PUT";
    request.key = key;
    request.payloadHash = std::string(kEmptyPayloadHash);
    auto response = client_->send(request, 64 * 1024);
    if (response.ok() && response->status == 200) ++stats_.markersWritten;
  });
}

Result<void> S3BlobStore::createBucket() {
  S3Request request;
  request.method = "PUT";
  request.payloadHash = std::string(kEmptyPayloadHash);
  auto response = client_->send(request, 64 * 1024);
  if (!response.ok()) return response.failure();
  if (response->status == 200) return {};
  auto error = parseS3Error(response->body);
  if (response->status == 409 && error && error->code == "BucketAlreadyOwnedByYou") return {};
  return answerFailure(*client_, request, *response);
}

} // namespace regcache::cache::s3
