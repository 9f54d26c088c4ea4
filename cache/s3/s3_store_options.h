#pragma once
// What an S3BlobStore needs to know: where the bucket is, how to sign, and how much of
// everything it may use. Filled by app/s3_options.cc from the --store s3:// and --s3-* flags.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace regcache::cache::s3 {

struct S3Credentials {
  std::string accessKeyId;
  std::string secretAccessKey;
  std::string sessionToken; // x-amz-security-token when not empty (temporary credentials)
};

struct S3StoreOptions {
  // The endpoint, e.g. "https://s3.eu-west-1.amazonaws.com" or "http://127.0.0.1:7480".
  std::string endpoint;
  std::string bucket;
  std::string prefix; // no leading or trailing '/'; may be empty (objects at blobs/sha256/...)
  std::string region = "us-east-1";
  S3Credentials credentials;
  // true: https://ENDPOINT/BUCKET/KEY (RGW, MinIO). false: https://BUCKET.ENDPOINT/KEY.
  bool pathStyle = true;
  std::vector<std::filesystem::path> caFiles; // extra roots for a TLS endpoint (--upstream-ca)
  // Plain http is refused unless the operator asked for it (a loopback or private endpoint).
  bool allowPlainHttp = false;
  // Where writes spool their bytes before and while they go up (unlinked files).
  std::filesystem::path spoolDir;
  std::uint64_t partSize = 16ull << 20; // multipart part size, 5 MiB..64 MiB (16 MiB default)
  std::chrono::milliseconds connectTimeout{5000};
  std::chrono::milliseconds ioTimeout{30000}; // per read or write on a connection
  unsigned ioThreads = 4;                     // the store's own threads (blocking HTTP)
  unsigned maxIdleConnections = 4;            // kept-alive connections for reuse
  // removeLeftovers aborts multipart uploads older than this (other hosts' uploads in flight
  // are younger).
  std::chrono::seconds abandonedUploadAge{std::chrono::hours(24)};
  // markUsed() PUTs a digest's marker at most once per this interval in this process.
  std::chrono::seconds markUsedInterval{std::chrono::hours(1)};
  // Ranged GET window a committed-blob reader reads ahead (bounded memory per reader).
  std::size_t readAheadBytes = 4u << 20;
  // Windows a committed-blob reader fetches in the background beyond the one being read, each
  // its own ranged GET (0: fetch a window only when the reader reaches it). Memory per reader is
  // at most (1 + readAheadWindows) * readAheadBytes.
  unsigned readAheadWindows = 2;
};

// Smallest and largest part sizes the store accepts (S3 requires >= 5 MiB except the last part).
inline constexpr std::uint64_t kMinPartSize = 5ull << 20;
inline constexpr std::uint64_t kMaxPartSize = 64ull << 20;

} // namespace regcache::cache::s3
