#include <catch2/catch.hpp>

#include <fstream>
#include <random>
#include <sstream>

#include "app/ca_install.h"

using namespace regcache::app;
namespace fs = std::filesystem;

namespace {

const char *kTwoRoots = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
                        "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n";

struct ScratchRoot {
  fs::path path;
  ScratchRoot() {
    std::random_device random;
    path = fs::temp_directory_path() / ("regcache-root-" + std::to_string(random()));
    fs::create_directories(path);
  }
  ~ScratchRoot() { fs::remove_all(path); }
};

std::string slurp(const fs::path &p) {
  std::ifstream in(p);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

} // namespace

TEST_CASE("ca install writes the bundle for docker, containerd and buildkit", "[app][install]") {
  ScratchRoot root;
  InstallPlan plan{kTwoRoots, root.path, false, true, true, true, {"docker.io", "ghcr.io"}};
  auto lines = installBundle(plan);
  CHECK(lines.size() == 6);
  CHECK(slurp(root.path / "etc/regcache/ca.crt") == kTwoRoots);
  CHECK(slurp(root.path / "etc/docker/certs.d/ghcr.io/ca.crt") == kTwoRoots);
  std::string hosts = slurp(root.path / "etc/containerd/certs.d/docker.io/hosts.toml");
  CHECK(hosts.find("server = \"https://registry-1.docker.io\"") != std::string::npos);
  CHECK(hosts.find("ca = \"/etc/regcache/ca.crt\"") != std::string::npos);
  std::string buildkit = slurp(root.path / "etc/buildkit/buildkitd.toml");
  CHECK(buildkit.find("[registry.\"ghcr.io\"]\n  ca = [\"/etc/regcache/ca.crt\"]") !=
        std::string::npos);
}

TEST_CASE("ca install keeps the operator's buildkitd.toml and replaces only its own block",
          "[app][install]") {
  ScratchRoot root;
  fs::create_directories(root.path / "etc/buildkit");
  std::ofstream(root.path / "etc/buildkit/buildkitd.toml") << "debug = true\n";
  InstallPlan plan{kTwoRoots, root.path, false, false, false, true, {"docker.io"}};
  installBundle(plan);
  plan.registries = {"quay.io"};
  installBundle(plan);
  std::string buildkit = slurp(root.path / "etc/buildkit/buildkitd.toml");
  CHECK(buildkit.rfind("debug = true\n", 0) == 0);
  CHECK(buildkit.find("quay.io") != std::string::npos);
  CHECK(buildkit.find("docker.io") == std::string::npos);
  CHECK(buildkit.find("# BEGIN regcache") == buildkit.rfind("# BEGIN regcache"));
}

TEST_CASE("ca install refuses an empty bundle", "[app][install]") {
  ScratchRoot root;
  InstallPlan plan{"not a certificate", root.path, false, true, true, true, {"docker.io"}};
  CHECK_THROWS_AS(installBundle(plan), std::runtime_error);
}

TEST_CASE("client-config gives every daemon the proxy", "[app][install]") {
  std::string config = clientConfig("http://10.0.0.1:3128", "localhost,127.0.0.1");
  for (const char *daemon : {"docker.service.d", "containerd.service.d", "buildkit.service.d"}) {
    CHECK(config.find(daemon) != std::string::npos);
  }
  CHECK(config.find("\"HTTPS_PROXY=http://10.0.0.1:3128\"") != std::string::npos);
  CHECK(config.find("\"NO_PROXY=localhost,127.0.0.1\"") != std::string::npos);
  CHECK(config.find("kind: Cluster") != std::string::npos);
}
