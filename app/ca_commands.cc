#include <iostream>
#include <stdexcept>

#include "app/commands.h"
#include "base/clock.h"
#include "base/json_text.h"
#include "ca/authority.h"
#include "ca/generation.h"
#include "ca/x509_util.h"

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

namespace {

// What `ca show` prints, as one JSON document: every generation, newest first, and the next
// scheduled transition.
std::string authorityJson(const ca::Authority &authority) {
  std::string out = "{\"generations\":[";
  const auto &generations = authority.generations();
  for (auto it = generations.rbegin(); it != generations.rend(); ++it) {
    X509 *root = it->root.get();
    out += std::string(it == generations.rbegin() ? "" : ",") +
           "{\"number\":" + std::to_string(it->times.number) +
           ",\"state\":" + jsonText(ca::stateName(it->state)) +
           ",\"sha256\":" + jsonText(ca::fingerprintSha256(root)) + ",\"not_before\":" +
           jsonText(ca::formatUtc(ca::toTimePoint(X509_get0_notBefore(root)))) +
           ",\"not_after\":" + jsonText(ca::formatUtc(ca::toTimePoint(X509_get0_notAfter(root)))) +
           ",\"created_at\":" + jsonText(ca::formatUtc(it->times.createdAt)) +
           ",\"activate_at\":" + jsonText(ca::formatUtc(it->times.activateAt)) + ",\"retire_at\":" +
           (it->times.retireAt ? jsonText(ca::formatUtc(*it->times.retireAt)) : "null") + "}";
  }
  out += "],\"next_transition\":" + (authority.nextTransition()
                                         ? jsonText(ca::formatUtc(*authority.nextTransition()))
                                         : std::string("null"));
  out += ",\"permitted_dns\":[";
  for (std::size_t i = 0; i < authority.permittedDns().size(); ++i) {
    out += (i == 0 ? "" : ",") + jsonText(authority.permittedDns()[i]);
  }
  return out + "]}\n";
}

} // namespace

int runCaShow(const ParsedCommand &command) {
  auto authority = loadAuthority(command);
  std::cout << (command.json ? authorityJson(*authority) : authority->describe());
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
