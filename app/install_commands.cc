#include <algorithm>
#include <iostream>

#include "app/bundle_pin.h"
#include "app/bundle_source.h"
#include "app/ca_install.h"
#include "app/client_config.h"
#include "app/commands.h"
#include "app/doctor.h"
#include "ca/authority.h"

namespace regcache::app {

namespace {

std::vector<std::string> parsePins(const std::vector<std::string> &given) {
  std::vector<std::string> pins;
  for (const auto &text : given) {
    auto pin = normalizeFingerprint(text);
    if (!pin) {
      throw std::runtime_error("--fingerprint '" + text +
                               "' is not a SHA-256 fingerprint (64 hex digits, colons optional)");
    }
    pins.push_back(*pin);
  }
  return pins;
}

} // namespace

int runCaInstall(const ParsedCommand &command) {
  // Checked before anything is fetched or written: a typo must not install anything.
  std::vector<std::string> pins = parsePins(command.fingerprints);
  InstallPlan plan;
  if (!command.bundleFile.empty()) {
    plan.bundlePem = readBundleFile(command.bundleFile);
  } else if (!command.bundleUrl.empty()) {
    plan.bundlePem = fetchBundle(command.bundleUrl, command.bundleCaFile);
    if (pins.empty()) {
      std::cerr << "warning: installing the bundle " << command.bundleUrl
                << " without --fingerprint: it is trusted because of who answered\n";
    }
  } else {
    auto authority = ca::Authority::load(command.dataDir / "ca");
    if (!authority.ok()) {
      throw std::runtime_error(authority.failure().detail +
                               " (give --bundle or --bundle-url on a machine without the CA)");
    }
    plan.bundlePem = authority.value()->bundlePem();
  }
  if (!pins.empty()) {
    auto pinned = keepPinnedRoots(plan.bundlePem, pins);
    if (!pinned.ok()) throw std::runtime_error(pinned.failure().detail + "; nothing installed");
    for (const auto &skipped : pinned->skipped)
      std::cerr << "skipped a certificate that is not a pinned root: SHA-256 " << skipped << "\n";
    plan.bundlePem = std::move(pinned->pem);
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
  // On the proxy host the CA is at hand: print its roots for `ca install --fingerprint`.
  std::vector<std::string> roots;
  if (auto authority = ca::Authority::load(command.dataDir / "ca"); authority.ok()) {
    roots = rootFingerprints(authority.value()->bundlePem());
  }
  FailOpenInput input;
  input.proxyUrl = command.proxyUrl;
  input.mirrorUrl = command.mirrorUrl;
  input.noProxy = command.noProxy;
  input.registries = command.registries.empty() ? defaultRegistries() : command.registries;
  // registry-1.docker.io is Docker Hub's server, not a registry name of its own.
  std::erase(input.registries, std::string("registry-1.docker.io"));
  input.gatePath = command.gatePath;
  input.rootSha256 = roots;
  std::cout << failOpenConfig(input, parseClientFile(command.clientFile));
  return 0;
}

int runDoctor(const ParsedCommand &command) {
  DoctorOptions options = command.doctor;
  if (options.registries.empty()) options.registries = defaultRegistries();
  return printDoctorReport(runDoctorChecks(options), options.json);
}

} // namespace regcache::app
