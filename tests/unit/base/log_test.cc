#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "base/log.h"

// Each test case runs in a process of its own (ctest), so these are the loggers' first uses.
TEST_CASE("threads logging first at once share one logger, and none throws", "[log]") {
  constexpr int kThreads = 16;
  std::atomic<int> ready{0};
  std::vector<spdlog::logger *> seen(kThreads, nullptr);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) {
      }
      seen[i] = &regcache::log::dns();
    });
  }
  for (auto &thread : threads)
    thread.join();
  for (spdlog::logger *logger : seen)
    CHECK(logger == seen[0]);
}
