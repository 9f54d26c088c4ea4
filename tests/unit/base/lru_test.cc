#include <catch2/catch.hpp>

#include <string>

#include "base/lru.h"

using regcache::LruCache;

TEST_CASE("lru evicts the least recently used entry beyond capacity", "[lru]") {
  LruCache<std::string, int> cache(2);
  cache.put("a", 1);
  cache.put("b", 2);
  REQUIRE(cache.get("a") == 1); // a is now the most recent
  cache.put("c", 3);
  CHECK(cache.size() == 2);
  CHECK_FALSE(cache.get("b").has_value());
  CHECK(cache.get("a") == 1);
  CHECK(cache.get("c") == 3);
}

TEST_CASE("lru put replaces an existing value and refreshes it", "[lru]") {
  LruCache<std::string, int> cache(2);
  cache.put("a", 1);
  cache.put("b", 2);
  cache.put("a", 10);
  cache.put("c", 3);
  CHECK(cache.get("a") == 10);
  CHECK_FALSE(cache.get("b").has_value());
}

TEST_CASE("lru erase and clear remove entries", "[lru]") {
  LruCache<int, int> cache(3);
  cache.put(1, 1);
  cache.put(2, 2);
  CHECK(cache.erase(1));
  CHECK_FALSE(cache.erase(1));
  CHECK(cache.size() == 1);
  cache.clear();
  CHECK(cache.size() == 0);
  CHECK_FALSE(cache.get(2).has_value());
}

TEST_CASE("lru with capacity zero still holds one entry", "[lru]") {
  LruCache<int, int> cache(0);
  cache.put(1, 1);
  cache.put(2, 2);
  CHECK(cache.size() == 1);
  CHECK(cache.get(2) == 2);
}
