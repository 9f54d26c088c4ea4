// regcache-loadgen: HTTP/1.1 over TLS, through a CONNECT proxy or straight to a server, with
// keep-alive connections, a new connection per handshake, or idle connections held open. Every
// loop is bounded by a request count and a duration, and a watchdog ends a run that overstays.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

#include "bench/loadgen/connection.h"
#include "bench/loadgen/options.h"
#include "bench/loadgen/stats.h"

namespace regcache::bench {
namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string nameFor(const Options &options, std::size_t i) {
  if (options.namePattern.empty()) return options.target.host;
  std::string name = options.namePattern;
  if (auto at = name.find("%d"); at != std::string::npos)
    name.replace(at, 2, std::to_string(i % options.names));
  return name;
}

void noteError(Sample &sample, const std::string &error) {
  ++sample.errors;
  if (sample.firstError.empty()) sample.firstError = error;
}

// Records one response; a non-2xx status counts as an error.
void noteResponse(Sample &sample, const Response &response, double ms) {
  ++sample.statuses[response.status];
  if (response.status < 200 || response.status > 299) {
    noteError(sample, "status " + std::to_string(response.status));
    return;
  }
  ++sample.ok;
  sample.bytes += response.bodyBytes;
  sample.latenciesMs.push_back(ms);
}

struct Shared {
  const Options &options;
  SSL_CTX *ctx;
  std::atomic<std::size_t> issued{0};
  Clock::time_point deadline;
  // Takes one request from the budget; false once the count or the time is spent.
  bool take() { return Clock::now() < deadline && issued.fetch_add(1) < options.maxRequests; }
};

void keepAliveWorker(Shared &shared, Sample &sample, std::atomic<int> &ready,
                     const std::atomic<bool> &go) {
  const Options &options = shared.options;
  Throttle throttle(options.rateMBps * 1e6);
  auto connection = std::make_unique<Connection>();
  auto opened = Clock::now();
  bool open = connection->open(options, shared.ctx, options.target.host);
  if (open)
    sample.handshakesMs.push_back(msSince(opened));
  else
    noteError(sample, connection->error());
  sample.cipher = connection->cipher();
  ready.fetch_add(1);
  while (!go.load())
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  while (shared.take()) {
    if (!open) { // a connection the server closed is reopened, within the same budget
      connection = std::make_unique<Connection>();
      opened = Clock::now();
      open = connection->open(options, shared.ctx, options.target.host);
      if (!open) {
        noteError(sample, connection->error());
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      sample.handshakesMs.push_back(msSince(opened));
    }
    auto start = Clock::now();
    auto response = connection->get(options, options.target.host, throttle);
    if (!response) {
      noteError(sample, connection->error());
      open = false;
      continue;
    }
    noteResponse(sample, *response, msSince(start));
    if (options.bodyLimit > 0) open = false;
  }
}

void handshakeWorker(Shared &shared, Sample &sample) {
  const Options &options = shared.options;
  Throttle throttle(0);
  while (Clock::now() < shared.deadline) {
    std::size_t i = shared.issued.fetch_add(1);
    if (i >= options.maxRequests) break;
    std::string host = nameFor(options, i);
    Connection connection;
    auto start = Clock::now();
    if (!connection.open(options, shared.ctx, host)) {
      noteError(sample, connection.error());
      continue;
    }
    double ms = msSince(start);
    sample.handshakesMs.push_back(ms);
    if (sample.cipher.empty()) sample.cipher = connection.cipher();
    if (!options.request) {
      ++sample.ok;
      sample.latenciesMs.push_back(ms);
      continue;
    }
    auto response = connection.get(options, host, throttle);
    if (!response)
      noteError(sample, connection.error());
    else
      noteResponse(sample, *response, msSince(start));
  }
}

// Opens connections until the budget is spent, one request on each, and keeps them in HELD.
void idleOpener(Shared &shared, Sample &sample, std::vector<std::unique_ptr<Connection>> &held) {
  const Options &options = shared.options;
  Throttle throttle(0);
  while (shared.take()) {
    auto connection = std::make_unique<Connection>();
    auto start = Clock::now();
    if (!connection->open(options, shared.ctx, options.target.host)) {
      noteError(sample, connection->error());
      continue;
    }
    sample.handshakesMs.push_back(msSince(start));
    auto response = connection->get(options, options.target.host, throttle);
    if (!response) {
      noteError(sample, connection->error());
      continue;
    }
    noteResponse(sample, *response, msSince(start));
    held.push_back(std::move(connection));
  }
}

const char *modeName(Mode mode) {
  switch (mode) {
  case Mode::kKeepAlive: return "keepalive";
  case Mode::kHandshake: return "handshake";
  case Mode::kIdle: return "idle";
  }
  return "?";
}

int run(const Options &options) {
  SslCtxPtr ctx = makeClientContext(options.caFile);
  if (!ctx) return 2;
  // However the peers behave, the run ends: duration, hold, two I/O timeouts and a margin.
  double limit = options.durationSeconds + options.holdSeconds + 2 * options.ioTimeoutSeconds + 60;
  std::thread([limit] {
    std::this_thread::sleep_for(std::chrono::duration<double>(limit));
    std::fputs("regcache-loadgen: watchdog: run overstayed, exiting\n", stderr);
    _exit(3);
  }).detach();

  Shared shared{options, ctx.get(), {}, {}};
  std::size_t threads = options.mode == Mode::kIdle ? std::min<std::size_t>(options.connections, 8)
                                                    : options.connections;
  std::vector<Sample> samples(threads);
  std::vector<std::vector<std::unique_ptr<Connection>>> held(threads);
  std::vector<std::thread> workers;
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  // Keep-alive connections are all open before the clock starts; the others time everything.
  shared.deadline = Clock::now() + std::chrono::hours(1);
  auto start = Clock::now();
  for (std::size_t t = 0; t < threads; ++t) {
    switch (options.mode) {
    case Mode::kKeepAlive:
      workers.emplace_back(keepAliveWorker, std::ref(shared), std::ref(samples[t]), std::ref(ready),
                           std::cref(go));
      break;
    case Mode::kHandshake:
      workers.emplace_back(handshakeWorker, std::ref(shared), std::ref(samples[t]));
      break;
    case Mode::kIdle:
      workers.emplace_back(idleOpener, std::ref(shared), std::ref(samples[t]), std::ref(held[t]));
      break;
    }
  }
  if (options.mode == Mode::kKeepAlive) {
    while (ready.load() < static_cast<int>(threads))
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    start = Clock::now();
  }
  shared.deadline = start + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(options.durationSeconds));
  go = true;
  for (auto &worker : workers)
    worker.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  Sample total;
  for (const auto &sample : samples)
    total.merge(sample);
  if (options.mode == Mode::kIdle) {
    if (!options.readyFile.empty()) std::ofstream(options.readyFile) << total.ok << "\n";
    std::this_thread::sleep_for(std::chrono::duration<double>(options.holdSeconds));
  }
  std::printf("%s\n", toJson(modeName(options.mode), total, elapsed, options.connections).c_str());
  held.clear();
  return total.ok > 0 ? 0 : 1;
}

} // namespace
} // namespace regcache::bench

int main(int argc, char **argv) {
  auto options = regcache::bench::parseOptions(argc, argv);
  if (!options) return 2;
  return regcache::bench::run(*options);
}
