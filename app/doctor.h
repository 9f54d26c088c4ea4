#pragma once
// `regcache doctor`, run inside a VM: checks that this machine can use regcache and prints, for
// each problem, the fix. The checks read files and ask the proxy; paths are flags so tests can
// point them at files of their own. Control path: may throw std::runtime_error.
#include <filesystem>
#include <string>
#include <vector>

namespace regcache::app {

struct DoctorOptions {
  std::string proxyUrl;                // http://HOST:PORT
  std::string image;                   // REGISTRY/REPO:TAG to HEAD through the proxy; empty: skip
  std::vector<std::string> registries; // that NO_PROXY must not exclude
  std::filesystem::path systemBundle = "/etc/ssl/certs/ca-certificates.crt";
  std::filesystem::path daemonJson = "/etc/docker/daemon.json";
  std::filesystem::path containerdHostsDir = "/etc/containerd/certs.d";
  std::filesystem::path buildkitdToml = "/etc/buildkit/buildkitd.toml";
  std::filesystem::path gateEnvDir = "/run/regcache"; // where regcache-proxy-gate writes
  bool useSystemctl = true; // read `systemctl show -p Environment` of the daemons
  bool json = false;
};

struct DoctorCheck {
  std::string name;
  enum class Outcome { kOk, kFail, kSkipped } outcome = Outcome::kOk;
  std::string detail;
  std::string fix; // set when it failed
};

// Whether a NO_PROXY list (comma-separated: "*", "host", ".domain", "domain", "host:port")
// exempts `host` from the proxy, as Go's and curl's matching does. Pure.
bool noProxyExcludes(const std::string &noProxy, const std::string &host);

// Runs every check. Pure of output: the caller prints.
std::vector<DoctorCheck> runDoctorChecks(const DoctorOptions &options);

// Prints the checks (text or JSON) and returns the exit code: 0 when nothing failed, else 1.
int printDoctorReport(const std::vector<DoctorCheck> &checks, bool json);

} // namespace regcache::app
