#include "app/ca_install.h"

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace regcache::app {
namespace fs = std::filesystem;
namespace {

constexpr const char *kBundlePath = "etc/regcache/ca.crt"; // relative to the root
constexpr const char *kBeginMarker = "# BEGIN regcache (managed by regcache ca install)";
constexpr const char *kEndMarker = "# END regcache";

void writeFile(const fs::path &path, const std::string &content) {
  fs::create_directories(path.parent_path());
  fs::path temp = path;
  temp += ".regcache-tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << content;
    if (!out) throw std::runtime_error("cannot write " + temp.string());
  }
  fs::rename(temp, path);
}

std::string readOrEmpty(const fs::path &path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> splitCertificates(const std::string &pem) {
  std::vector<std::string> certs;
  const std::string begin = "-----BEGIN CERTIFICATE-----";
  const std::string end = "-----END CERTIFICATE-----";
  for (auto pos = pem.find(begin); pos != std::string::npos; pos = pem.find(begin, pos + 1)) {
    auto stop = pem.find(end, pos);
    if (stop == std::string::npos) break;
    certs.push_back(pem.substr(pos, stop + end.size() - pos) + "\n");
  }
  return certs;
}

// Docker Hub's registry answers as registry-1.docker.io; its clients name it docker.io.
std::string serverFor(const std::string &registry) {
  return registry == "docker.io" ? "https://registry-1.docker.io" : "https://" + registry;
}

std::string installSystem(const InstallPlan &plan) {
  fs::path dir = plan.root / "usr/local/share/ca-certificates/regcache";
  fs::create_directories(dir);
  for (const auto &entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".crt") fs::remove(entry.path()); // roots since retired
  }
  auto certs = splitCertificates(plan.bundlePem);
  for (std::size_t i = 0; i < certs.size(); ++i) {
    writeFile(dir / ("regcache-root-" + std::to_string(i + 1) + ".crt"), certs[i]);
  }
  // update-ca-certificates expects these to exist, even in a bare image root.
  fs::create_directories(plan.root / "etc/ssl/certs");
  fs::create_directories(plan.root / "usr/share/ca-certificates");
  if (!fs::exists(plan.root / "etc/ca-certificates.conf")) {
    writeFile(plan.root / "etc/ca-certificates.conf", "");
  }
  std::string root = fs::absolute(plan.root).string();
  pid_t pid = ::fork();
  if (pid == 0) {
    const char *argv[] = {"update-ca-certificates", "--fresh", "--sysroot", root.c_str(), nullptr};
    ::execvp(argv[0], const_cast<char *const *>(argv));
    _exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("update-ca-certificates failed (exit " +
                             std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
                             "); on distributions without it, add " + dir.string() +
                             " to the system store by hand");
  }
  // --sysroot leaves links that point through the root's path on this machine; inside the image
  // they must point to the same files without that prefix.
  for (const auto &entry : fs::directory_iterator(plan.root / "etc/ssl/certs")) {
    if (!entry.is_symlink()) continue;
    std::string target = fs::read_symlink(entry.path()).string();
    std::string prefix = root.back() == '/' ? root : root + "/";
    if (root != "/" && target.rfind(prefix, 0) == 0) {
      fs::remove(entry.path());
      fs::create_symlink("/" + target.substr(prefix.size()), entry.path());
    }
  }
  return "system store: " + std::to_string(certs.size()) + " root(s) in " + dir.string() +
         ", update-ca-certificates --sysroot " + root;
}

std::string buildkitBlock(const std::vector<std::string> &registries) {
  std::string block = std::string(kBeginMarker) + "\n";
  for (const auto &registry : registries) {
    block += "[registry.\"" + registry + "\"]\n  ca = [\"/" + std::string(kBundlePath) + "\"]\n";
  }
  return block + kEndMarker + "\n";
}

// Replaces the managed block in buildkitd.toml, keeping everything else the operator wrote.
std::string withManagedBlock(const std::string &existing, const std::string &block) {
  auto begin = existing.find(kBeginMarker);
  if (begin == std::string::npos) {
    return existing + (existing.empty() || existing.back() == '\n' ? "" : "\n") + block;
  }
  auto end = existing.find(kEndMarker, begin);
  end = end == std::string::npos ? existing.size() : end + std::string(kEndMarker).size();
  if (end < existing.size() && existing[end] == '\n') ++end;
  return existing.substr(0, begin) + block + existing.substr(end);
}

} // namespace

std::vector<std::string> defaultRegistries() {
  return {"docker.io", "registry-1.docker.io", "ghcr.io",        "quay.io",
          "gcr.io",    "registry.k8s.io",      "public.ecr.aws", "mcr.microsoft.com"};
}

std::vector<std::string> installBundle(const InstallPlan &plan) {
  if (splitCertificates(plan.bundlePem).empty()) throw std::runtime_error("the bundle is empty");
  std::vector<std::string> done;
  fs::path bundle = plan.root / kBundlePath;
  writeFile(bundle, plan.bundlePem);
  done.push_back("bundle: " + bundle.string());
  if (plan.system) done.push_back(installSystem(plan));
  for (const auto &registry : plan.registries) {
    if (plan.docker) {
      fs::path path = plan.root / "etc/docker/certs.d" / registry / "ca.crt";
      writeFile(path, plan.bundlePem);
      done.push_back("docker: " + path.string());
    }
    if (plan.containerd) {
      fs::path path = plan.root / "etc/containerd/certs.d" / registry / "hosts.toml";
      std::string server = serverFor(registry);
      writeFile(path, "# managed by regcache ca install\nserver = \"" + server + "\"\n\n[host.\"" +
                          server + "\"]\n  ca = \"/" + kBundlePath + "\"\n");
      done.push_back("containerd: " + path.string());
    }
  }
  if (plan.buildkit) {
    fs::path path = plan.root / "etc/buildkit/buildkitd.toml";
    writeFile(path, withManagedBlock(readOrEmpty(path), buildkitBlock(plan.registries)));
    done.push_back("buildkit: " + path.string());
  }
  return done;
}

std::string clientConfig(const std::string &proxyUrl, const std::string &noProxy,
                         const std::vector<std::string> &rootFingerprints) {
  std::string env = "\"HTTP_PROXY=" + proxyUrl + "\" \"HTTPS_PROXY=" + proxyUrl +
                    "\" \"NO_PROXY=" + noProxy + "\"";
  std::string out;
  out += "# dockerd: /etc/systemd/system/docker.service.d/regcache-proxy.conf\n";
  out += "[Service]\nEnvironment=" + env + "\n\n";
  out += "# containerd: /etc/systemd/system/containerd.service.d/regcache-proxy.conf\n";
  out += "[Service]\nEnvironment=" + env + "\n\n";
  out += "# buildkitd: /etc/systemd/system/buildkit.service.d/regcache-proxy.conf\n";
  out += "[Service]\nEnvironment=" + env + "\n\n";
  out += "# then: systemctl daemon-reload && systemctl restart containerd docker buildkit\n";
  out += "# (Go daemons read the trusted roots at start: install the bundle first with\n";
  out += "#  regcache ca install --bundle-url " + proxyUrl + "/ca.crt";
  for (const auto &fingerprint : rootFingerprints)
    out += " \\\n#    --fingerprint " + fingerprint;
  if (rootFingerprints.empty()) out += " --fingerprint <root SHA-256 from `regcache ca show`>";
  out += ")\n\n";
  out += "# kind: cluster config passing the proxy to the nodes' containerd\n";
  out += "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n";
  out += "  extraMounts:\n  - hostPath: /etc/regcache/ca.crt\n";
  out += "    containerPath: /usr/local/share/ca-certificates/regcache.crt\n";
  out +=
      "# and export HTTP_PROXY, HTTPS_PROXY and NO_PROXY as above before `kind create cluster`\n";
  out += "# (kind passes them to the nodes), then run update-ca-certificates in each node.\n";
  return out;
}

} // namespace regcache::app
