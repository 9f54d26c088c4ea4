#pragma once
// Writes the bundle of roots where each consumer in a VM or host reads it, under `root` ("/" for
// this machine, or an image root being built):
//   system      usr/local/share/ca-certificates/regcache/*.crt, then update-ca-certificates
//   docker      etc/docker/certs.d/<registry>/ca.crt
//   containerd  etc/containerd/certs.d/<registry>/hosts.toml with ca = the bundle
//   buildkit    a managed [registry."<registry>"] ca block in etc/buildkit/buildkitd.toml
// Go daemons read roots when they start: restart them afterwards.
#include <filesystem>
#include <string>
#include <vector>

namespace regcache::app {

struct InstallPlan {
  std::string bundlePem;
  std::filesystem::path root = "/";
  bool system = true, docker = true, containerd = true, buildkit = true;
  std::vector<std::string> registries; // registry hosts for the per-registry consumers
};

// The registries configured when none is named.
std::vector<std::string> defaultRegistries();

// Performs the plan; returns one line per file written or command run. Throws
// std::runtime_error on failure.
std::vector<std::string> installBundle(const InstallPlan &plan);

// The proxy settings for dockerd (systemd drop-in), containerd, buildkitd and a kind cluster,
// and the `ca install` line pinning `rootFingerprints` (the bundle's roots; empty: none known).
std::string clientConfig(const std::string &proxyUrl, const std::string &noProxy,
                         const std::vector<std::string> &rootFingerprints = {});

} // namespace regcache::app
