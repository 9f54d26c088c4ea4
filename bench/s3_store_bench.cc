// Throughput of the S3 blob store against a real endpoint: one PUT of SIZE MiB through a write
// (spooled, hashed, multipart) and one GET through a reader (ranged read-ahead windows, hashed
// here as the fleet's reads are). Usage: regcache-s3-bench ENV_FILE SIZE_MIB [PART_MIB
// [READ_AHEAD_MIB]] (ENV_FILE: tests/ceph/rgw-up.sh's s3.env). bench/s3_store.sh runs it beside
// curl.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <string>

#include "base/sha256.h"
#include "cache/blob_store_sync.h"
#include "cache/s3/s3_blob_store.h"

using namespace regcache;
using namespace regcache::cache;
using namespace regcache::cache::s3;

namespace {

std::string envValue(const std::string &file, const std::string &name) {
  std::ifstream in(file);
  std::string line, prefix = "export " + name + "=";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    std::string value = line.substr(prefix.size());
    if (value.size() >= 2 && value.front() == '\'') value = value.substr(1, value.size() - 2);
    return value;
  }
  return {};
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 3) {
    std::cerr << "usage: regcache-s3-bench ENV_FILE SIZE_MIB [PART_MIB [READ_AHEAD_MIB]]\n";
    return 2;
  }
  std::size_t size = std::stoul(argv[2]) << 20;
  S3StoreOptions options;
  options.endpoint = envValue(argv[1], "S3_ENDPOINT");
  options.credentials = {envValue(argv[1], "AWS_ACCESS_KEY_ID"),
                         envValue(argv[1], "AWS_SECRET_ACCESS_KEY"), ""};
  options.allowPlainHttp = true;
  options.bucket = "regcache-bench";
  options.prefix = "bench";
  options.spoolDir = std::filesystem::temp_directory_path();
  if (argc > 3) options.partSize = std::stoull(argv[3]) << 20;
  if (argc > 4) options.readAheadBytes = std::stoull(argv[4]) << 20;
  std::string content(size, '\0');
  std::mt19937_64 random(42);
  for (std::size_t i = 0; i + 8 <= size; i += 8) {
    std::uint64_t word = random();
    std::memcpy(content.data() + i, &word, 8);
  }
  Digest digest = *parseDigest("sha256:" + sha256Hex(content));
  double mib = static_cast<double>(size) / (1 << 20);
  {
    S3BlobStore store(options);
    if (auto made = store.createBucket(); !made.ok()) {
      std::cerr << "create bucket: " << made.failure().detail << "\n";
      return 1;
    }
    auto started = std::chrono::steady_clock::now();
    auto write = store.begin(digest, InlineCompletions::instance());
    for (std::size_t at = 0; at < size && write.ok(); at += 1 << 20) {
      if (!appendNow(**write, content.substr(at, 1 << 20)).ok()) return 1;
    }
    auto committed = commitNow(**write, size);
    double took = secondsSince(started);
    if (!committed.ok()) {
      std::cerr << "commit: " << committed.failure().detail << "\n";
      return 1;
    }
    std::printf("store PUT %.0f MiB (multipart, %llu MiB parts): %.2f s, %.0f MiB/s\n", mib,
                static_cast<unsigned long long>(options.partSize >> 20), took, mib / took);
  }
  S3BlobStore store(options); // a fresh store: nothing known, the reader HEADs first
  auto started = std::chrono::steady_clock::now();
  auto reader = store.openReader(digest, InlineCompletions::instance());
  if (!reader.ok()) return 1;
  Sha256 hasher;
  std::uint64_t offset = 0;
  for (int i = 0; i < 1000000 && offset < size; ++i) {
    auto chunk = readNow(**reader, offset, 1 << 20);
    if (!chunk.ok() || chunk->empty()) break;
    hasher.update(chunk.value());
    offset += chunk->size();
  }
  double took = secondsSince(started);
  bool good = offset == size && hasher.finishHex() == digest.hex;
  std::printf("store GET %.0f MiB (%zu MiB read-ahead, hashed): %.2f s, %.0f MiB/s%s\n", mib,
              options.readAheadBytes >> 20, took, mib / took, good ? "" : " WRONG BYTES");
  (void)removeNow(store, digest);
  return good ? 0 : 1;
}
