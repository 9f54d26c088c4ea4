#pragma once
// The fail-open client set-up `regcache client-config` prints (docs/fail-open.md): clients that
// can fall back (containerd hosts.toml, buildkitd mirrors, dockerd registry-mirrors, kind,
// registries.conf) use regcache as a mirror and go to the real registry when it fails; the
// HTTPS_PROXY for dockerd and containerd is set only when regcache answers /healthz at start
// (regcache-proxy-gate as ExecStartPre). Pure text: nothing is read or written.
#include <string>
#include <vector>

namespace regcache::app {

struct FailOpenInput {
  std::string proxyUrl;  // http://HOST:PORT, as clients reach regcache
  std::string mirrorUrl; // the mirror endpoint (default: proxyUrl; https:// for a TLS mirror)
  std::string noProxy;   // hosts that bypass the proxy; the proxy's own host is added
  std::vector<std::string> registries; // docker.io first is usual; each gets a hosts.toml
  std::string gatePath;                // where regcache-proxy-gate is installed
  std::vector<std::string> rootSha256; // the CA's roots, for the `ca install` hint
};

// One file of the set-up, or every file with a comment naming where it goes.
enum class ClientFile {
  kAll,
  kContainerdHosts,  // hosts.toml of input.registries.front()
  kContainerdConfig, // config.toml lines pointing containerd 1.6/1.7 and 2.x at certs.d
  kBuildkitd,        // buildkitd.toml
  kDaemonJson,       // dockerd's daemon.json
  kDockerDropIn,     // docker.service.d drop-in (the gate)
  kContainerdDropIn, // containerd.service.d drop-in (the gate)
  kRegistriesConf,   // containers-registries.conf(5) v2
  kKind,             // kind cluster config with containerdConfigPatches
};

// Parses the --client name ("all", "containerd-hosts", ...). Throws std::invalid_argument.
ClientFile parseClientFile(const std::string &name);

// The registry host a name's real registry answers on: docker.io -> registry-1.docker.io.
std::string registryServer(const std::string &registry);

// The text of `which`. Throws std::invalid_argument for a proxy URL that is not http://HOST:PORT
// or a registry list that is empty.
std::string failOpenConfig(const FailOpenInput &input, ClientFile which);

} // namespace regcache::app
