#include <iostream>
#include <stdexcept>

#include "app/commands.h"
#include "base/clock.h"
#include "ca/authority.h"

namespace regcache::app {
namespace {

std::shared_ptr<const ca::Authority> loadAuthority(const ParsedCommand &command) {
  auto authority = ca::Authority::load(command.dataDir / "ca");
  if (!authority.ok()) {
    if (authority.failure().code == Error::kNotFound) {
      throw std::runtime_error("no CA in " + (command.dataDir / "ca").string() +
                               " (create one with `regcache ca init` or `regcache serve`)");
    }
    throw std::runtime_error(authority.failure().detail);
  }
  return authority.value();
}

} // namespace

int runCaInit(const ParsedCommand &command) {
  ca::AuthorityOptions options;
  options.permittedDns = command.permitDns;
  auto authority = ca::Authority::create(command.dataDir / "ca", SystemClock::instance(), options);
  if (!authority.ok()) throw std::runtime_error(authority.failure().detail);
  std::cout << "created the CA in " << (command.dataDir / "ca").string() << "\n"
            << "root SHA-256 " << ca::fingerprintSha256(authority.value()->signingCert()) << "\n";
  return 0;
}

int runCaBundle(const ParsedCommand &command) {
  std::cout << loadAuthority(command)->bundlePem();
  return 0;
}

int runCaShow(const ParsedCommand &command) {
  std::cout << loadAuthority(command)->describe();
  return 0;
}

} // namespace regcache::app

namespace regcache::app {

int runCaRotate(const ParsedCommand &command) {
  ca::RotateOptions options;
  options.overlap = std::chrono::duration_cast<std::chrono::seconds>(command.overlap);
  options.emergency = command.rotateNow;
  options.leafValidity = command.leafValidity;
  auto number = ca::Authority::rotate(command.dataDir / "ca", SystemClock::instance(), options);
  if (!number.ok()) throw std::runtime_error(number.failure().detail);
  std::cout << (command.rotateNow ? "emergency rotation: " : "rotation started: ") << "generation "
            << number.value() << " published\n"
            << "running servers follow within seconds (or send SIGHUP)\n\n";
  return runCaShow(command);
}

} // namespace regcache::app
