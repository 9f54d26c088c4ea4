#pragma once
// The blob store on an S3-API bucket (AWS S3, Ceph RGW, MinIO, R2), shared by a fleet of hosts:
//   PREFIX/blobs/sha256/<64 hex>   committed blobs, each verified by the host that wrote it
//   PREFIX/used/sha256/<64 hex>    empty markers: when some host last used a blob (store gc)
// A write spools its bytes to an unlinked local file (readers of the write in progress read it),
// hashes them, and sends parts of a multipart upload as they fill (a copy, beginCopy, sends them
// from the local tier's file instead, and trusts that write's verification); commit completes the
// upload only once the digest and size verify (a blob smaller than a part goes up as one PUT,
// signed with its own sha256, after the check). An abort, a mismatch or a destroyed write aborts
// the upload. So an object exists only if some host verified its bytes. Every request runs on the
// store's own threads (blocking HTTP, bounded by the timeouts); completions go through the
// CompletionQueue as BlobStore requires.
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "base/unique_fd.h"
#include "cache/blob_store.h"
#include "cache/io_pool.h"
#include "cache/s3/s3_client.h"
#include "cache/s3/s3_store_options.h"
#include "cache/s3/s3_xml.h"

namespace regcache::cache::s3 {

class S3BlobStore final : public BlobStore {
public:
  // Checks the options and opens the spool directory (created if missing). Throws
  // std::invalid_argument or std::runtime_error (start-up only). Sends nothing yet.
  explicit S3BlobStore(S3StoreOptions options);
  // Runs the requests already queued (their completions are posted), then stops the threads.
  ~S3BlobStore() override;

  Result<std::unique_ptr<BlobWrite>> begin(const Digest &digest,
                                           CompletionQueue &completions) override;
  // Known blobs (stat, commit or list in this process saw them) open with no request; any other
  // digest costs one HEAD on the caller's thread, bounded by the timeouts: call it from a
  // store thread or after stat() said the blob is there.
  Result<std::unique_ptr<BlobReader>> openReader(const Digest &digest,
                                                 CompletionQueue &completions) override;
  void stat(const Digest &digest, CompletionQueue &completions, Done<BlobInfo> done) override;
  void remove(const Digest &digest, CompletionQueue &completions, Done<void> done) override;
  void list(CompletionQueue &completions, Done<std::vector<BlobInfo>> done) override;
  // The upload of a blob the local tier's write holds (the tiered store's path): parts read
  // from `source` as they fill, no spool, no SHA-256 of its own; completed only by a commit
  // its caller makes after verifying the bytes (BlobCopy). `done` of the commit runs through
  // `completions`.
  Result<std::unique_ptr<BlobCopy>> beginCopy(const Digest &digest,
                                              std::shared_ptr<const StoredBytes> source,
                                              CompletionQueue &completions) override;
  // Aborts the multipart uploads under the prefix older than abandonedUploadAge (any host's:
  // one that old was abandoned) and removes this host's spool files left by a crash.
  void removeLeftovers(CompletionQueue &completions, Done<std::size_t> done) override;

  // Records that `digest` was used now, for store gc: a PUT of its marker, off the caller's
  // thread, at most once per markUsedInterval per digest in this process. Any thread.
  void markUsed(const Digest &digest);
  // Creates the bucket if it does not exist (tests, first set-up). Blocking.
  Result<void> createBucket();
  // Blocking, for tools (store gc) and the store's own threads: every object under `prefix`
  // (ListObjectsV2, all pages), and every multipart upload under the blob prefix.
  Result<std::vector<ListedObject>> listObjects(const std::string &prefix);
  Result<std::vector<ListedUpload>> listUploads();
  // Blocking: DELETE of one object (absent is no error); abort of one upload.
  Result<void> deleteObject(const std::string &key);
  void abortUpload(const std::string &key, const std::string &uploadId);

  const S3Stats &stats() const { return stats_; }
  S3Client &client() { return *client_; }
  const S3StoreOptions &options() const { return options_; }
  // Object keys.
  std::string blobKey(const Digest &digest) const;
  std::string markerKey(const Digest &digest) const;
  std::string blobsPrefix() const;   // "PREFIX/blobs/sha256/"
  std::string markersPrefix() const; // "PREFIX/used/sha256/"

  // What the store's handles share; outlives the store's handles' jobs.
  struct Shared;

private:
  S3StoreOptions options_;
  S3Stats stats_;
  std::unique_ptr<S3Client> client_;
  std::shared_ptr<Shared> shared_;
  std::mutex marksMutex_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> marked_;
  IoPool pool_; // last: destroyed first, so queued requests still find the client
};

} // namespace regcache::cache::s3
