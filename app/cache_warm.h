#pragma once
// `regcache cache warm IMAGE... | --file LIST`: pulls images through a running proxy so that the
// proxy caches their manifests and blobs before a client asks.
#include <filesystem>
#include <string>
#include <vector>

namespace regcache::app {

inline constexpr const char *kDefaultWarmProxy = "http://127.0.0.1:3128";

struct WarmOptions {
  std::vector<std::string> images;    // as typed
  std::filesystem::path listFile;     // --file: one image a line; blank lines and # comments
  std::string proxyUrl;               // --proxy; empty: $HTTPS_PROXY, else kDefaultWarmProxy
  std::filesystem::path caBundle;     // --ca-bundle; empty: GET the proxy's /ca.crt
  std::vector<std::string> platforms; // --platform os/arch[/variant], repeatable; empty: all
  unsigned concurrency = 4;           // blobs in flight
};

// The images named by `options.images` then by the list file, in order, duplicates dropped.
// Throws std::runtime_error when the file cannot be read.
std::vector<std::string> warmImageNames(const WarmOptions &options);

} // namespace regcache::app
