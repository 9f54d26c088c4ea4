// regcache store gc: eviction in a bucket shared by a fleet (cache/s3/store_gc.h says how use is
// recorded and what goes).
#include <filesystem>
#include <iostream>
#include <stdexcept>

#include "app/commands.h"
#include "app/s3_options.h"
#include "app/units.h"
#include "base/json_text.h"
#include "cache/s3/s3_blob_store.h"
#include "cache/s3/store_gc.h"

namespace regcache::app {
namespace {

std::string jsonList(const std::vector<std::string> &items) {
  std::string out = "[";
  for (const auto &item : items)
    out += (out.size() > 1 ? "," : "") + jsonText(item);
  return out + "]";
}

} // namespace

int runStoreGc(const ParsedCommand &command) {
  if (command.gcOlderThan.count() <= 0) throw std::invalid_argument("--older-than must be > 0");
  // gc writes nothing through the store: its spool directory stays empty.
  auto options = resolveS3Options(command.storeGc, command.storeGcCaFiles,
                                  std::filesystem::temp_directory_path());
  cache::s3::S3BlobStore store(std::move(*options));
  auto cutoff = std::chrono::system_clock::now() - command.gcOlderThan;
  auto report = cache::s3::collectGarbage(store, cutoff, command.dryRun);
  if (!report.ok()) throw std::runtime_error("store gc: " + report.failure().detail);
  const auto &r = report.value();
  if (command.json) {
    std::cout << "{\"dryRun\":" << (command.dryRun ? "true" : "false")
              << ",\"blobsRemoved\":" << jsonList(r.blobsRemoved)
              << ",\"bytesRemoved\":" << r.bytesRemoved << ",\"blobsKept\":" << r.blobsKept
              << ",\"markersRemoved\":" << jsonList(r.markersRemoved)
              << ",\"uploadsAborted\":" << jsonList(r.uploadsAborted)
              << ",\"failures\":" << r.failures << "}\n";
  } else {
    std::string verb = command.dryRun ? "would remove " : "removed ";
    for (const auto &digest : r.blobsRemoved)
      std::cout << verb << digest << "\n";
    std::cout << verb << r.blobsRemoved.size() << " blob(s) (" << formatBytes(r.bytesRemoved)
              << "), kept " << r.blobsKept << ", " << verb << r.markersRemoved.size()
              << " orphaned marker(s), " << (command.dryRun ? "would abort " : "aborted ")
              << r.uploadsAborted.size() << " abandoned upload(s)\n";
  }
  return r.failures == 0 ? 0 : 1;
}

} // namespace regcache::app
