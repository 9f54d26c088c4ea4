#include "rgw_env.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <random>

#include "base/sha256.h"

namespace regcache::test {

const RgwEnv &rgwEnv() {
  static const RgwEnv env = [] {
    RgwEnv read;
    const char *path = std::getenv("REGCACHE_RGW_ENV");
    REQUIRE(path != nullptr);
    std::ifstream file(path);
    REQUIRE(file.good());
    std::string line;
    while (std::getline(file, line)) {
      if (line.rfind("export ", 0) != 0) continue;
      auto equals = line.find('=');
      std::string name = line.substr(7, equals - 7);
      std::string value = line.substr(equals + 1);
      if (value.size() >= 2 && value.front() == '\'') value = value.substr(1, value.size() - 2);
      if (name == "S3_ENDPOINT") read.endpoint = value;
      if (name == "AWS_ACCESS_KEY_ID") read.accessKey = value;
      if (name == "AWS_SECRET_ACCESS_KEY") read.secretKey = value;
      if (name == "RGW_DIR") read.rgwDir = value;
    }
    REQUIRE(!read.endpoint.empty());
    return read;
  }();
  return env;
}

cache::Digest digestOf(const std::string &content) {
  return *cache::parseDigest("sha256:" + sha256Hex(content));
}

std::string patterned(std::size_t size, unsigned seed) {
  std::string bytes(size, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto &c : bytes) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return bytes;
}

std::string randomHex(std::size_t length) {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < length; ++i)
    out += digits[random() % 16];
  return out;
}

cache::s3::S3StoreOptions rgwStoreOptions(const TempDir &spool) {
  const RgwEnv &env = rgwEnv();
  cache::s3::S3StoreOptions options;
  options.endpoint = env.endpoint;
  options.allowPlainHttp = true;
  options.bucket = kTestBucket;
  options.prefix = "t-" + randomHex(12);
  options.credentials = {env.accessKey, env.secretKey, ""};
  options.spoolDir = spool.path();
  options.partSize = cache::s3::kMinPartSize;
  options.connectTimeout = std::chrono::seconds(2);
  options.ioTimeout = std::chrono::seconds(10);
  return options;
}

} // namespace regcache::test
