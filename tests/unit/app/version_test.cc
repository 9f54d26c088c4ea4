#include <catch2/catch.hpp>

#include <regex>

#include "app/build_info.h"

using regcache::app::versionText;

TEST_CASE("version names the commit, the build type and every linked library", "[app][version]") {
  const std::string text = versionText();
  CHECK(std::regex_search(text, std::regex(R"(^regcache \d+\.\d+\.\d+\n)")));
  CHECK(std::regex_search(text, std::regex(R"(\n  git \S+)")));
  CHECK(std::regex_search(text,
                          std::regex(R"(\n  build (Release|Debug|RelWithDebInfo|MinSizeRel), )")));
  for (const char *library :
       {"OpenSSL 3", "libevent 2", "SQLite 3", "c-ares 1", "llhttp ", "spdlog 1", "CLI11 2"}) {
    INFO(library);
    CHECK(text.find(std::string("\n  ") + library) != std::string::npos);
  }
}

TEST_CASE("the commit is never empty", "[app][version]") {
  REQUIRE(regcache::app::gitDescribe() != nullptr);
  CHECK(std::string(regcache::app::gitDescribe()).size() > 0);
}
