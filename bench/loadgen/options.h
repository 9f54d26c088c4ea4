#pragma once
// The load generator's command line: what to connect to, how, and for how long.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace regcache::bench {

enum class Mode {
  kKeepAlive, // N connections, each sends requests one after another until the time or count ends
  kHandshake, // a new connection (CONNECT + TLS) per iteration, closed after the handshake
  kIdle,      // N connections opened, one request each, then held open and idle
};

struct HostPort {
  std::string host;
  std::string port;
};

struct Options {
  Mode mode = Mode::kKeepAlive;
  HostPort target;               // the origin named in CONNECT, SNI and Host
  std::optional<HostPort> proxy; // when set, every connection starts with CONNECT through it
  std::string connectAddress;    // where TCP goes when there is no proxy (default: target host)
  std::string path = "/";
  std::vector<std::string> headers; // extra request headers, "Name: value"
  std::string caFile;               // roots that verify the server (the proxy's bundle or the CA)
  std::string namePattern;          // handshake mode: target names, "%d" replaced by 0..names-1
  std::size_t names = 1;
  std::size_t connections = 1;
  double durationSeconds = 10;
  std::size_t maxRequests = 1000000; // over all connections; every loop is bounded by both
  double rateMBps = 0;               // > 0: each connection reads no faster than this
  std::size_t bodyLimit = 0;         // > 0: read this much of each body, then drop the connection
  double holdSeconds = 5;            // idle mode: how long the connections stay open
  std::string readyFile;             // idle mode: created once every connection is open
  bool request = false;              // handshake mode: also send one GET after the handshake
  double ioTimeoutSeconds = 30;      // per read or write; a stuck peer ends that connection
};

// Parses argv. On an error or --help, prints usage to stderr and returns nullopt.
std::optional<Options> parseOptions(int argc, char **argv);

} // namespace regcache::bench
