#include "app/client_config.h"

#include <stdexcept>

namespace regcache::app {
namespace {

// "http://10.0.0.1:3128/" -> "10.0.0.1:3128"
std::string hostPort(const std::string &url) {
  auto scheme = url.find("://");
  std::string rest = scheme == std::string::npos ? url : url.substr(scheme + 3);
  while (!rest.empty() && rest.back() == '/')
    rest.pop_back();
  if (rest.empty() || rest.find('/') != std::string::npos) {
    throw std::invalid_argument("'" + url + "' is not a URL like http://HOST:PORT");
  }
  return rest;
}

// "10.0.0.1:3128" -> "10.0.0.1"; "[fd00::1]:3128" -> "fd00::1"
std::string hostOnly(const std::string &hostAndPort) {
  if (!hostAndPort.empty() && hostAndPort.front() == '[') {
    auto end = hostAndPort.find(']');
    return hostAndPort.substr(1, end == std::string::npos ? std::string::npos : end - 1);
  }
  return hostAndPort.substr(0, hostAndPort.rfind(':'));
}

bool isHttps(const std::string &url) { return url.rfind("https://", 0) == 0; }

std::string noProxyWithProxy(const FailOpenInput &in) {
  std::string host = hostOnly(hostPort(in.proxyUrl));
  std::string list = in.noProxy;
  if (list.find(host) == std::string::npos) list += (list.empty() ? "" : ",") + host;
  return list;
}

std::string containerdHosts(const FailOpenInput &in, const std::string &registry) {
  std::string mirror = isHttps(in.mirrorUrl) ? in.mirrorUrl : "http://" + hostPort(in.mirrorUrl);
  std::string out;
  out += "server = \"https://" + registryServer(registry) + "\"\n\n";
  out += "[host.\"" + mirror + "\"]\n";
  out += "  capabilities = [\"pull\", \"resolve\"]\n";
  return out;
}

std::string containerdConfig() {
  return "# containerd 1.6 and 1.7 (config version 2), /etc/containerd/config.toml:\n"
         "version = 2\n"
         "[plugins.\"io.containerd.grpc.v1.cri\".registry]\n"
         "  config_path = \"/etc/containerd/certs.d\"\n"
         "# containerd 2.x (config version 3) instead:\n"
         "#   version = 3\n"
         "#   [plugins.\"io.containerd.cri.v1.images\".registry]\n"
         "#     config_path = \"/etc/containerd/certs.d\"\n"
         "# ctr: ctr images pull --hosts-dir /etc/containerd/certs.d ...\n";
}

std::string buildkitd(const FailOpenInput &in) {
  std::string mirror = hostPort(in.mirrorUrl);
  std::string out;
  for (const auto &registry : in.registries) {
    out += "[registry.\"" + registry + "\"]\n";
    out += "  mirrors = [\"" + mirror + "\"]\n\n";
  }
  out += "[registry.\"" + mirror + "\"]\n";
  if (isHttps(in.mirrorUrl)) {
    out += "  ca = [\"/etc/regcache/ca.crt\"]\n";
  } else {
    out += "  http = true\n";
  }
  return out;
}

std::string daemonJson(const FailOpenInput &in) {
  std::string mirror = isHttps(in.mirrorUrl) ? in.mirrorUrl : "http://" + hostPort(in.mirrorUrl);
  return "{\n  \"registry-mirrors\": [\"" + mirror + "\"]\n}\n";
}

std::string gateDropIn(const FailOpenInput &in, const std::string &unit) {
  std::string env = "/run/regcache/" + unit + "-proxy.env";
  return "[Service]\n"
         "ExecStartPre=-" +
         in.gatePath + " --no-proxy " + noProxyWithProxy(in) + " " + env + " " + in.proxyUrl +
         "\n"
         "EnvironmentFile=-" +
         env + "\n";
}

std::string registriesConf(const FailOpenInput &in) {
  std::string mirror = hostPort(in.mirrorUrl);
  std::string insecure = isHttps(in.mirrorUrl) ? "false" : "true";
  std::string out = "unqualified-search-registries = [\"docker.io\"]\n";
  for (const auto &registry : in.registries) {
    // Docker Hub is the mirror's default upstream; other registries are named by the path
    // (registries.conf mirrors cannot add ?ns=). A registry with a port has no path form.
    if (registry.find(':') != std::string::npos) continue;
    out += "\n[[registry]]\nprefix = \"" + registry + "\"\nlocation = \"" + registry + "\"\n";
    out += "[[registry.mirror]]\nlocation = \"" + mirror +
           (registry == "docker.io" ? "" : "/" + registry) + "\"\ninsecure = " + insecure + "\n";
  }
  return out;
}

std::string kind(const FailOpenInput &) {
  return "kind: Cluster\n"
         "apiVersion: kind.x-k8s.io/v1alpha4\n"
         "containerdConfigPatches:\n"
         "- |-\n"
         "  [plugins.\"io.containerd.grpc.v1.cri\".registry]\n"
         "    config_path = \"/etc/containerd/certs.d\"\n"
         "nodes:\n"
         "- role: control-plane\n"
         "  extraMounts:\n"
         "  - hostPath: /etc/containerd/certs.d\n"
         "    containerPath: /etc/containerd/certs.d\n"
         "    readOnly: true\n";
}

} // namespace

ClientFile parseClientFile(const std::string &name) {
  if (name == "all") return ClientFile::kAll;
  if (name == "containerd-hosts") return ClientFile::kContainerdHosts;
  if (name == "containerd-config") return ClientFile::kContainerdConfig;
  if (name == "buildkitd") return ClientFile::kBuildkitd;
  if (name == "daemon-json") return ClientFile::kDaemonJson;
  if (name == "docker-dropin") return ClientFile::kDockerDropIn;
  if (name == "containerd-dropin") return ClientFile::kContainerdDropIn;
  if (name == "registries-conf") return ClientFile::kRegistriesConf;
  if (name == "kind") return ClientFile::kKind;
  throw std::invalid_argument("unknown --client '" + name + "'");
}

std::string registryServer(const std::string &registry) {
  return registry == "docker.io" ? "registry-1.docker.io" : registry;
}

std::string failOpenConfig(const FailOpenInput &input, ClientFile which) {
  FailOpenInput in = input;
  if (in.mirrorUrl.empty()) in.mirrorUrl = in.proxyUrl;
  hostPort(in.proxyUrl); // validates
  if (in.registries.empty()) throw std::invalid_argument("no registry to configure");
  switch (which) {
  case ClientFile::kContainerdHosts: return containerdHosts(in, in.registries.front());
  case ClientFile::kContainerdConfig: return containerdConfig();
  case ClientFile::kBuildkitd: return buildkitd(in);
  case ClientFile::kDaemonJson: return daemonJson(in);
  case ClientFile::kDockerDropIn: return gateDropIn(in, "docker");
  case ClientFile::kContainerdDropIn: return gateDropIn(in, "containerd");
  case ClientFile::kRegistriesConf: return registriesConf(in);
  case ClientFile::kKind: return kind(in);
  case ClientFile::kAll: break;
  }
  std::string out;
  out += "# Fail-open set-up for regcache at " + in.proxyUrl + " (docs/fail-open.md).\n";
  out += "# Mirrors fall back to the real registry when regcache fails; HTTPS_PROXY is set for\n";
  out += "# dockerd and containerd only when " + in.proxyUrl + "/healthz answers within 1 s as\n";
  out += "# they start.\n\n";
  for (const auto &registry : in.registries) {
    out += "# containerd: /etc/containerd/certs.d/" + registry + "/hosts.toml\n";
    out += containerdHosts(in, registry) + "\n";
  }
  out += containerdConfig() + "\n";
  out += "# buildkitd: /etc/buildkit/buildkitd.toml\n" + buildkitd(in) + "\n";
  out += "# dockerd: /etc/docker/daemon.json (registry-mirrors covers Docker Hub only)\n";
  out += daemonJson(in) + "\n";
  out += "# dockerd, for every other registry: /etc/systemd/system/docker.service.d/"
         "regcache-proxy.conf\n";
  out += gateDropIn(in, "docker") + "\n";
  out += "# containerd (CRI and ctr pulls not covered by hosts.toml): "
         "/etc/systemd/system/containerd.service.d/regcache-proxy.conf\n";
  out += gateDropIn(in, "containerd") + "\n";
  out += "# then: systemctl daemon-reload && systemctl restart containerd docker\n\n";
  out += "# podman, skopeo, buildah: /etc/containers/registries.conf.d/50-regcache.conf\n";
  out += registriesConf(in) + "\n";
  out += "# kind: kind create cluster --config kind.yaml (mount certs.d from the host)\n";
  out += kind(in) + "\n";
  out += "# Trust regcache's CA first (Go daemons read roots only at start):\n";
  out += "#   regcache ca install --bundle-url " + in.proxyUrl + "/ca.crt";
  for (const auto &sha : in.rootSha256)
    out += " --fingerprint " + sha;
  if (in.rootSha256.empty()) out += " --fingerprint <root SHA-256 from `regcache ca show`>";
  out += "\n# and check the VM: regcache doctor --proxy " + in.proxyUrl + "\n";
  return out;
}

} // namespace regcache::app
