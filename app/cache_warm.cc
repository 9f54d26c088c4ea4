#include "app/cache_warm.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "app/bundle_source.h"
#include "app/commands.h"
#include "app/registry_client.h"
#include "app/units.h"
#include "app/warm_plan.h"
#include "app/warm_progress.h"
#include "base/base64.h"
#include "base/json_text.h"

namespace regcache::app {
namespace {

// The proxy's bundle in a private temporary file, for OpenSSL to load; removed on destruction.
class TemporaryBundle {
public:
  explicit TemporaryBundle(const std::string &pem) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "regcache-warm-XXXXXX").string();
    int fd = ::mkstemp(pattern.data());
    if (fd < 0) throw std::runtime_error("cannot create a temporary file for the proxy's bundle");
    path_ = pattern;
    bool written = ::write(fd, pem.data(), pem.size()) == static_cast<ssize_t>(pem.size());
    ::close(fd);
    if (!written) throw std::runtime_error("cannot write the proxy's bundle to " + path_.string());
  }
  ~TemporaryBundle() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  TemporaryBundle(const TemporaryBundle &) = delete;
  TemporaryBundle &operator=(const TemporaryBundle &) = delete;
  const std::filesystem::path &path() const { return path_; }

private:
  std::filesystem::path path_;
};

// One blob to fetch, for every image that names it.
struct BlobJob {
  ImageReference image; // the first image naming it: its repository is asked
  Descriptor blob;
  std::vector<std::size_t> owners; // indexes into the outcomes
};

void addJob(std::vector<BlobJob> &jobs, const ImageReference &image, const Descriptor &blob,
            std::size_t owner) {
  for (auto &job : jobs) {
    if (job.blob.digest == blob.digest && job.image.endpoint() == image.endpoint() &&
        job.image.repository == image.repository) {
      job.owners.push_back(owner);
      return;
    }
  }
  jobs.push_back(BlobJob{image, blob, {owner}});
}

std::string shortDigest(const std::string &digest) {
  return digest.substr(0, std::min<std::size_t>(digest.size(), 19)); // "sha256:" + 12 hex
}

std::string summaryJson(const std::vector<ImageOutcome> &outcomes, std::size_t blobs,
                        std::uint64_t bytes) {
  std::string out = "{\"images\":[";
  std::string failures;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const auto &o = outcomes[i];
    out += std::string(i ? "," : "") + "{\"image\":" + jsonText(o.image) +
           ",\"ok\":" + (o.ok ? "true" : "false") + ",\"platforms\":[";
    for (std::size_t p = 0; p < o.platforms.size(); ++p)
      out += (p ? "," : "") + jsonText(o.platforms[p]);
    out += "],\"blobs\":" + std::to_string(o.blobs) + ",\"bytes\":" + std::to_string(o.bytes);
    if (!o.ok) {
      out += ",\"error\":" + jsonText(o.error);
      failures += std::string(failures.empty() ? "" : ",") + "{\"image\":" + jsonText(o.image) +
                  ",\"error\":" + jsonText(o.error) + "}";
    }
    out += "}";
  }
  return out + "],\"blobs\":" + std::to_string(blobs) + ",\"bytes\":" + std::to_string(bytes) +
         ",\"failures\":[" + failures + "]}";
}

// The proxy URL without its credentials, and the credentials ("user:secret") apart.
struct ProxyAddress {
  std::string url;
  std::string userinfo;
};

ProxyAddress splitProxyUrl(const std::string &url) {
  auto scheme = url.find("://");
  std::size_t hostStart = scheme == std::string::npos ? 0 : scheme + 3;
  auto at = url.find('@', hostStart);
  auto slash = url.find('/', hostStart);
  if (at == std::string::npos || (slash != std::string::npos && slash < at)) return {url, {}};
  return {url.substr(0, hostStart) + url.substr(at + 1), url.substr(hostStart, at - hostStart)};
}

// --proxy, else the proxy every other client of it is given (HTTPS_PROXY), else the default.
// The environment keeps a proxy token out of the process list.
std::string chooseProxyUrl(const WarmOptions &options) {
  if (!options.proxyUrl.empty()) return options.proxyUrl;
  for (const char *name : {"HTTPS_PROXY", "https_proxy"}) {
    const char *value = std::getenv(name);
    if (value != nullptr && *value != '\0') return value;
  }
  return kDefaultWarmProxy;
}

} // namespace

std::vector<std::string> warmImageNames(const WarmOptions &options) {
  std::vector<std::string> names;
  auto add = [&](std::string name) {
    if (std::find(names.begin(), names.end(), name) == names.end())
      names.push_back(std::move(name));
  };
  for (const auto &image : options.images)
    add(image);
  if (!options.listFile.empty()) {
    std::ifstream in(options.listFile);
    if (!in) throw std::runtime_error("cannot read " + options.listFile.string());
    std::string line;
    while (std::getline(in, line)) {
      line = line.substr(0, line.find('#'));
      auto first = line.find_first_not_of(" \t\r");
      if (first == std::string::npos) continue;
      auto last = line.find_last_not_of(" \t\r");
      add(line.substr(first, last - first + 1));
    }
  }
  return names;
}

int runCacheWarm(const ParsedCommand &command) {
  const WarmOptions &options = command.warm;
  // SSL_write to a peer that closed raises SIGPIPE; a failed blob must fail its image, not end
  // the process.
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> names = warmImageNames(options);
  if (names.empty()) throw std::runtime_error("name at least one image, or --file LIST");
  std::vector<Platform> wanted;
  for (const auto &text : options.platforms) {
    auto platform = parsePlatform(text);
    if (!platform) throw std::runtime_error(platform.failure().detail);
    wanted.push_back(std::move(*platform));
  }
  ProxyAddress address = splitProxyUrl(chooseProxyUrl(options));
  auto proxyUrl = proxy::http::parseAbsoluteUrl(address.url);
  if (!proxyUrl || proxyUrl->scheme != "http") {
    throw std::runtime_error("--proxy must be http://[USER:SECRET@]HOST:PORT, like "
                             "http://127.0.0.1:3128");
  }
  HttpGetSettings settings;
  settings.proxy = proxyUrl->authority;
  if (!address.userinfo.empty()) {
    settings.proxyAuthorization = "Basic " + encodeBase64(address.userinfo);
  }
  std::unique_ptr<TemporaryBundle> fetched;
  if (options.caBundle.empty()) {
    std::string base = address.url;
    while (!base.empty() && base.back() == '/')
      base.pop_back();
    fetched = std::make_unique<TemporaryBundle>(fetchBundle(base + "/ca.crt"));
    settings.caFile = fetched->path();
  } else {
    settings.caFile = options.caBundle;
  }
  RegistryClient client(settings);

  std::ostream &out = command.json ? std::cerr : std::cout;
  bool terminal = ::isatty(command.json ? STDERR_FILENO : STDOUT_FILENO) == 1;
  auto progress = makeWarmProgress(terminal, out);

  // Manifests first, one image at a time (a few small requests each), then every blob.
  std::vector<ImageOutcome> outcomes(names.size());
  std::vector<BlobJob> jobs;
  for (std::size_t i = 0; i < names.size(); ++i) {
    outcomes[i].image = names[i];
    auto image = parseImageReference(names[i]);
    auto plan = image ? planImage(client, *image, wanted) : Result<ImagePlan>(image.failure());
    if (!plan) {
      outcomes[i].ok = false;
      outcomes[i].error = plan.failure().detail;
      continue;
    }
    outcomes[i].platforms = plan->platforms;
    for (const auto &blob : plan->blobs)
      addJob(jobs, *image, blob, i);
  }
  std::vector<std::size_t> pending(names.size(), 0);
  for (const auto &job : jobs)
    for (std::size_t owner : job.owners)
      ++pending[owner];

  std::mutex mutex; // guards outcomes, pending and the totals
  std::size_t totalBlobs = 0;
  std::uint64_t totalBytes = 0;
  auto settle = [&](std::size_t owner) { // with `mutex` held
    if (--pending[owner] == 0) progress->imageFinished(outcomes[owner]);
  };
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (pending[i] == 0) progress->imageFinished(outcomes[i]);
  }
  std::atomic<std::size_t> next{0};
  auto worker = [&](std::size_t slot) {
    for (std::size_t j = next++; j < jobs.size(); j = next++) {
      const BlobJob &job = jobs[j];
      progress->blobStarted(slot, shortDigest(job.blob.digest), job.blob.size);
      auto answer = client.get(job.image, "blobs", job.blob.digest, "", 0, job.blob.size,
                               [&](std::uint64_t n) { progress->blobBytes(slot, n); });
      progress->blobFinished(slot);
      std::string error;
      if (!answer) {
        error = answer.failure().detail;
      } else if (answer->bodyBytes != job.blob.size) {
        error = "blob " + job.blob.digest + ": " + std::to_string(answer->bodyBytes) +
                " bytes, the manifest says " + std::to_string(job.blob.size);
      }
      std::lock_guard lock(mutex);
      if (error.empty()) {
        ++totalBlobs;
        totalBytes += job.blob.size;
      }
      for (std::size_t owner : job.owners) {
        ImageOutcome &outcome = outcomes[owner];
        if (error.empty()) {
          ++outcome.blobs;
          outcome.bytes += job.blob.size;
        } else if (outcome.ok) {
          outcome.ok = false;
          outcome.error = error;
        }
        settle(owner);
      }
    }
  };
  std::size_t threads = std::clamp<std::size_t>(options.concurrency, 1, 64);
  threads = std::min(threads, std::max<std::size_t>(jobs.size(), 1));
  std::vector<std::thread> pool;
  for (std::size_t slot = 0; slot < threads; ++slot)
    pool.emplace_back(worker, slot);
  for (auto &thread : pool)
    thread.join();
  progress.reset(); // erases the bars before the summary

  if (command.json) std::cout << summaryJson(outcomes, totalBlobs, totalBytes) << '\n';
  int failed = 0;
  for (const auto &outcome : outcomes) {
    if (outcome.ok) continue;
    ++failed;
    std::cerr << "cache warm: " << outcome.image << " failed: " << outcome.error << '\n';
  }
  if (!command.json) {
    std::cout << "warmed " << (outcomes.size() - failed) << " of " << outcomes.size()
              << " images: " << totalBlobs << " blobs, " << formatBytes(totalBytes) << '\n';
  }
  return failed == 0 ? 0 : 1;
}

} // namespace regcache::app
