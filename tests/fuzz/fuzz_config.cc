// The parsers of operator files: `serve --config` (TOML read by CLI11 and mapped onto the serve
// flags, durations and sizes included) and `--upstream-auth` (a TOML subset of our own), plus the
// token endpoint's JSON. The first byte picks one; arbitrary bytes must give a value or an error,
// never a crash, a leak or a hang.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "app/cli.h"
#include "proxy/forward/upstream_auth/credentials.h"
#include "proxy/forward/upstream_auth/token_response.h"

using namespace regcache;

namespace {

const std::filesystem::path &configPath() {
  static const std::filesystem::path path =
      std::filesystem::temp_directory_path() /
      ("regcache-fuzz-config-" + std::to_string(::getpid()) + ".toml");
  return path;
}

void parseServeConfig(std::string_view text) {
  {
    std::ofstream out(configPath(), std::ios::trunc | std::ios::binary);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  std::string path = configPath().string();
  const char *argv[] = {"regcache", "serve", "--config", path.c_str()};
  try {
    app::Cli cli;
    (void)cli.parse(4, argv);
  } catch (const std::exception &) {
    // A refused file is a fine outcome.
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char *>(data) + 1, size - 1);
  switch (data[0] % 3) {
  case 0: parseServeConfig(text); break;
  case 1: (void)proxy::upstream_auth::Credentials::parse(text, "/nonexistent"); break;
  default: (void)proxy::upstream_auth::parseTokenResponse(text); break;
  }
  return 0;
}
