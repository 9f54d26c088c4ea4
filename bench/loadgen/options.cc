#include "bench/loadgen/options.h"

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace regcache::bench {
namespace {

constexpr const char *kUsage = R"(usage: regcache-loadgen --target HOST:PORT --cafile PEM [options]
  --proxy HOST:PORT      go through this proxy with CONNECT (default: straight to the target)
  --connect-address IP   where TCP goes without a proxy (default: the target host)
  --mode M               keepalive (default), handshake or idle
  --path P               request path (default /)
  --header 'N: V'        extra request header (repeatable)
  --connections N        concurrent connections (default 1)
  --duration S           seconds (default 10); --max-requests N bounds the count (default 1e6)
  --rate MBPS            read each response no faster than this (keepalive mode)
  --body-limit BYTES     read at most this much of each body, then reconnect
  --names-pattern P      handshake mode: target names, %d replaced by 0..names-1
  --names N              how many distinct names (default 1)
  --request              handshake mode: send one GET after each handshake
  --hold S               idle mode: seconds to hold the connections (default 5)
  --ready-file F         idle mode: created once every connection is open
  --io-timeout S         per read or write (default 30)
Prints one JSON object on stdout.
)";

std::optional<HostPort> splitHostPort(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) return {};
  return HostPort{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
}

} // namespace

std::optional<Options> parseOptions(int argc, char **argv) {
  Options options;
  bool haveTarget = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--request") {
      options.request = true;
      continue;
    }
    if (arg == "--help" || i + 1 >= argc) {
      std::fputs(kUsage, stderr);
      return {};
    }
    std::string value = argv[++i];
    if (arg == "--target" || arg == "--proxy") {
      auto hostPort = splitHostPort(value);
      if (!hostPort) {
        std::fprintf(stderr, "%s needs HOST:PORT\n", argv[i - 1]);
        return {};
      }
      if (arg == "--target") {
        options.target = *hostPort;
        haveTarget = true;
      } else {
        options.proxy = *hostPort;
      }
    } else if (arg == "--connect-address") {
      options.connectAddress = value;
    } else if (arg == "--mode") {
      if (value == "keepalive")
        options.mode = Mode::kKeepAlive;
      else if (value == "handshake")
        options.mode = Mode::kHandshake;
      else if (value == "idle")
        options.mode = Mode::kIdle;
      else {
        std::fprintf(stderr, "unknown mode %s\n", value.c_str());
        return {};
      }
    } else if (arg == "--path") {
      options.path = value;
    } else if (arg == "--header") {
      options.headers.push_back(value);
    } else if (arg == "--cafile") {
      options.caFile = value;
    } else if (arg == "--names-pattern") {
      options.namePattern = value;
    } else if (arg == "--names") {
      options.names = std::strtoull(value.c_str(), nullptr, 10);
    } else if (arg == "--connections") {
      options.connections = std::strtoull(value.c_str(), nullptr, 10);
    } else if (arg == "--duration") {
      options.durationSeconds = std::strtod(value.c_str(), nullptr);
    } else if (arg == "--max-requests") {
      options.maxRequests = std::strtoull(value.c_str(), nullptr, 10);
    } else if (arg == "--rate") {
      options.rateMBps = std::strtod(value.c_str(), nullptr);
    } else if (arg == "--body-limit") {
      options.bodyLimit = std::strtoull(value.c_str(), nullptr, 10);
    } else if (arg == "--hold") {
      options.holdSeconds = std::strtod(value.c_str(), nullptr);
    } else if (arg == "--ready-file") {
      options.readyFile = value;
    } else if (arg == "--io-timeout") {
      options.ioTimeoutSeconds = std::strtod(value.c_str(), nullptr);
    } else {
      std::fprintf(stderr, "unknown option %s\n%s", argv[i - 1], kUsage);
      return {};
    }
  }
  if (!haveTarget || options.caFile.empty() || options.connections == 0 || options.names == 0) {
    std::fputs(kUsage, stderr);
    return {};
  }
  if (options.connectAddress.empty()) options.connectAddress = options.target.host;
  return options;
}

} // namespace regcache::bench
