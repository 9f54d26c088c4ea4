#include <catch2/catch.hpp>

#include <atomic>
#include <vector>

#include "cache/io_pool.h"

using regcache::cache::IoPool;

TEST_CASE("jobs on one strand run in order and never two at once", "[cache][io-pool]") {
  std::vector<int> seen;
  std::atomic<int> running{0};
  std::atomic<bool> overlapped{false};
  {
    IoPool pool(4);
    auto strand = pool.strand();
    for (int i = 0; i < 500; ++i) {
      strand->post([&, i] {
        if (running.fetch_add(1) != 0) overlapped = true;
        seen.push_back(i);
        running.fetch_sub(1);
      });
    }
  } // the pool runs what is queued before it stops
  REQUIRE(seen.size() == 500);
  for (int i = 0; i < 500; ++i)
    CHECK(seen[static_cast<std::size_t>(i)] == i);
  CHECK_FALSE(overlapped);
}
