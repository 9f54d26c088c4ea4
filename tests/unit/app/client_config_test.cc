#include <catch2/catch.hpp>

#include "app/client_config.h"

using namespace regcache::app;

namespace {
FailOpenInput input() {
  FailOpenInput in;
  in.proxyUrl = "http://10.0.0.1:3128";
  in.noProxy = "localhost";
  in.registries = {"docker.io", "ghcr.io", "registry.test:5000"};
  in.gatePath = "/usr/libexec/regcache/regcache-proxy-gate";
  return in;
}
} // namespace

TEST_CASE("hosts.toml names the real registry as server and regcache as a pull host", "[app]") {
  auto text = failOpenConfig(input(), ClientFile::kContainerdHosts);
  CHECK(text.find("server = \"https://registry-1.docker.io\"") != std::string::npos);
  CHECK(text.find("[host.\"http://10.0.0.1:3128\"]") != std::string::npos);
  CHECK(text.find("capabilities = [\"pull\", \"resolve\"]") != std::string::npos);
}

TEST_CASE("the gate drop-in keeps the proxy's own host out of the proxy", "[app]") {
  auto text = failOpenConfig(input(), ClientFile::kDockerDropIn);
  CHECK(text.find("--no-proxy localhost,10.0.0.1 ") != std::string::npos);
  CHECK(text.find("EnvironmentFile=-/run/regcache/docker-proxy.env") != std::string::npos);
}

TEST_CASE("registries.conf names other registries by path and skips those with a port", "[app]") {
  auto text = failOpenConfig(input(), ClientFile::kRegistriesConf);
  CHECK(text.find("location = \"10.0.0.1:3128/ghcr.io\"") != std::string::npos);
  CHECK(text.find("registry.test:5000") == std::string::npos);
}

TEST_CASE("a TLS mirror is trusted by its CA, not reached over plain HTTP", "[app]") {
  auto in = input();
  in.mirrorUrl = "https://10.0.0.1:3129";
  auto text = failOpenConfig(in, ClientFile::kBuildkitd);
  CHECK(text.find("http = true") == std::string::npos);
  CHECK(text.find("mirrors = [\"10.0.0.1:3129\"]") != std::string::npos);
  CHECK(failOpenConfig(in, ClientFile::kDaemonJson).find("https://10.0.0.1:3129") !=
        std::string::npos);
}

TEST_CASE("client-config refuses a proxy that is not a URL and unknown client names", "[app]") {
  auto in = input();
  in.proxyUrl = "http://10.0.0.1:3128/some/path";
  CHECK_THROWS(failOpenConfig(in, ClientFile::kAll));
  CHECK_THROWS(parseClientFile("dockerd"));
}
