#include <algorithm>
#include <iostream>

#include "app/bundle_source.h"
#include "app/ca_install.h"
#include "app/commands.h"
#include "ca/authority.h"

namespace regcache::app {

int runCaInstall(const ParsedCommand &command) {
  InstallPlan plan;
  if (!command.bundleFile.empty()) {
    plan.bundlePem = readBundleFile(command.bundleFile);
  } else if (!command.bundleUrl.empty()) {
    plan.bundlePem = fetchBundle(command.bundleUrl);
  } else {
    auto authority = ca::Authority::load(command.dataDir / "ca");
    if (!authority.ok()) {
      throw std::runtime_error(authority.failure().detail +
                               " (give --bundle or --bundle-url on a machine without the CA)");
    }
    plan.bundlePem = authority.value()->bundlePem();
  }
  auto wants = [&](const char *target) {
    return std::find(command.targets.begin(), command.targets.end(), target) !=
               command.targets.end() ||
           std::find(command.targets.begin(), command.targets.end(), "all") !=
               command.targets.end();
  };
  plan.system = wants("system");
  plan.docker = wants("docker");
  plan.containerd = wants("containerd");
  plan.buildkit = wants("buildkit");
  plan.root = command.installRoot;
  plan.registries = command.registries.empty() ? defaultRegistries() : command.registries;
  for (const auto &line : installBundle(plan))
    std::cout << line << "\n";
  std::cout << "restart dockerd, containerd and buildkitd: Go daemons read roots only at start\n";
  return 0;
}

int runClientConfig(const ParsedCommand &command) {
  std::cout << clientConfig(command.proxyUrl, command.noProxy);
  return 0;
}

} // namespace regcache::app
