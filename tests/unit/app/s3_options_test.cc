#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "app/s3_options.h"
#include "temp_dir.h"

using namespace regcache::app;
using regcache::test::TempDir;

namespace {

S3Flags flagsFor(std::string store, std::string endpoint, bool plain = false) {
  S3Flags flags;
  flags.store = std::move(store);
  flags.endpoint = std::move(endpoint);
  flags.allowPlainHttp = plain;
  return flags;
}

std::filesystem::path writeFile(const TempDir &dir, const std::string &text, mode_t mode) {
  auto path = dir.path() / "credentials";
  std::ofstream(path) << text;
  ::chmod(path.c_str(), mode);
  return path;
}

} // namespace

TEST_CASE("s3 options: s3://BUCKET[/PREFIX] is parsed strictly", "[s3]") {
  CHECK(parseS3Url("s3://my-bucket").bucket == "my-bucket");
  CHECK(parseS3Url("s3://my-bucket").prefix.empty());
  auto location = parseS3Url("s3://fleet.cache/site/a/");
  CHECK(location.bucket == "fleet.cache");
  CHECK(location.prefix == "site/a");
  CHECK_THROWS_AS(parseS3Url("https://bucket"), std::invalid_argument);
  CHECK_THROWS_AS(parseS3Url("s3://Upper"), std::invalid_argument);
  CHECK_THROWS_AS(parseS3Url("s3://ab"), std::invalid_argument);
  CHECK_THROWS_AS(parseS3Url("s3://bucket/a//b"), std::invalid_argument);
  CHECK_THROWS_AS(parseS3Url("s3://bucket/a/../b"), std::invalid_argument);
  CHECK_THROWS_AS(parseS3Url("s3://bucket/a?b"), std::invalid_argument);
}

TEST_CASE("s3 options: plain http only when allowed, and no path in the endpoint", "[s3]") {
  ::setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
  CHECK_THROWS_AS(resolveS3Options(flagsFor("s3://bucket", "http://127.0.0.1:7480"), {}, "/tmp"),
                  std::invalid_argument);
  auto plain = resolveS3Options(flagsFor("s3://bucket", "http://127.0.0.1:7480", true), {}, "/tmp");
  REQUIRE(plain);
  CHECK(plain->endpoint == "http://127.0.0.1:7480");
  CHECK(plain->credentials.accessKeyId == "AKID");
  CHECK(plain->pathStyle);
  CHECK(plain->partSize == 16u << 20);
  CHECK_THROWS_AS(resolveS3Options(flagsFor("s3://bucket", "https://s3.example/x"), {}, "/tmp"),
                  std::invalid_argument);
  CHECK_THROWS_AS(resolveS3Options(flagsFor("s3://bucket", ""), {}, "/tmp"), std::invalid_argument);
  auto small = flagsFor("s3://bucket", "https://s3.example");
  small.partSize = "1MiB";
  CHECK_THROWS_AS(resolveS3Options(small, {}, "/tmp"), std::invalid_argument);
  CHECK_FALSE(resolveS3Options(S3Flags{}, {}, "/tmp"));
}

TEST_CASE("s3 options: a credentials file must be private", "[s3]") {
  TempDir dir;
  std::string text = "[other]\naws_access_key_id = NO\n[default]\naws_access_key_id = AKID\n"
                     "aws_secret_access_key = s3cr3t\n";
  auto open = writeFile(dir, text, 0644);
  CHECK_THROWS_AS(readS3CredentialsFile(open), std::runtime_error);
  ::chmod(open.c_str(), 0600);
  auto credentials = readS3CredentialsFile(open);
  CHECK(credentials.accessKeyId == "AKID");
  CHECK(credentials.secretAccessKey == "s3cr3t");
  auto flags = flagsFor("s3://bucket/p", "https://s3.example:9000");
  flags.credentialsFile = open.string();
  auto options = resolveS3Options(flags, {"/etc/extra-ca.pem"}, "/tmp");
  REQUIRE(options);
  CHECK(options->credentials.secretAccessKey == "s3cr3t");
  CHECK(options->caFiles.size() == 1);
  CHECK(options->prefix == "p");
  CHECK(options->endpoint == "https://s3.example:9000");
}
