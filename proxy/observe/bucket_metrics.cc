#include "proxy/observe/bucket_metrics.h"

#include <atomic>
#include <cstdint>

namespace regcache::proxy {
namespace {

void counter(std::string &out, const char *name, const char *help,
             const std::atomic<std::uint64_t> &value) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name +
         " " + std::to_string(value.load(std::memory_order_relaxed)) + "\n";
}

} // namespace

std::string renderBucketMetrics(const cache::TierCounters &tier, const cache::s3::S3Stats *s3) {
  std::string out;
  counter(out, "regcache_bucket_operations_total",
          "Operations the cache asked of the fleet's bucket (stat, read, upload, remove, list).",
          tier.requests);
  counter(out, "regcache_bucket_errors_total",
          "Bucket operations that failed other than with not-found (down, refused, 5xx, timeout).",
          tier.errors);
  counter(out, "regcache_bucket_read_bytes_total", "Bytes read from the bucket.", tier.bytesRead);
  counter(out, "regcache_bucket_written_bytes_total", "Bytes handed to bucket uploads.",
          tier.bytesWritten);
  counter(out, "regcache_bucket_uploads_completed_total",
          "Fills whose upload to the bucket completed.", tier.uploadsCompleted);
  counter(out, "regcache_bucket_uploads_aborted_total",
          "Uploads to the bucket given up (failed, too slow, or their fill failed).",
          tier.uploadsAborted);
  counter(out, "regcache_bucket_hits_total",
          "Blobs served from the bucket that verified to their last byte.", tier.hits);
  counter(out, "regcache_bucket_mismatches_total",
          "Bucket objects whose bytes did not match their digest (removed).", tier.mismatches);
  counter(out, "regcache_bucket_fallbacks_total",
          "Times the bucket could not help (down, slow) and the cache went on without it.",
          tier.fallbacks);
  if (s3 == nullptr) return out;
  counter(out, "regcache_s3_requests_total", "HTTP requests sent to the S3 endpoint.",
          s3->requests);
  counter(out, "regcache_s3_errors_total", "S3 requests that failed (connect, timeout, TLS, 5xx).",
          s3->errors);
  counter(out, "regcache_s3_bytes_up_total", "Bytes sent to the S3 endpoint.", s3->bytesUp);
  counter(out, "regcache_s3_bytes_down_total", "Bytes received from the S3 endpoint.",
          s3->bytesDown);
  counter(out, "regcache_s3_uploads_completed_total", "Multipart uploads completed.",
          s3->uploadsCompleted);
  counter(out, "regcache_s3_uploads_aborted_total", "Multipart uploads aborted.",
          s3->uploadsAborted);
  counter(out, "regcache_s3_markers_written_total", "Use markers written for store gc.",
          s3->markersWritten);
  return out;
}

} // namespace regcache::proxy
