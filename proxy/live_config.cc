#include "proxy/live_config.h"

#include <stdexcept>

#include "base/log.h"
#include "proxy/shared_context.h"

namespace regcache::proxy {

namespace {

Result<std::shared_ptr<const std::vector<net::Cidr>>>
parseRanges(const std::vector<std::string> &texts, const char *flag) {
  auto ranges = std::make_shared<std::vector<net::Cidr>>();
  for (const auto &text : texts) {
    auto range = net::Cidr::parse(text);
    if (!range)
      return fail(Error::kInvalidInput, std::string("bad ") + flag + " range '" + text + "'");
    ranges->push_back(*range);
  }
  return std::shared_ptr<const std::vector<net::Cidr>>(std::move(ranges));
}

} // namespace

Result<LiveConfig> loadLiveConfig(const ServerOptions &options,
                                  const std::vector<net::SocketAddress> &ownAddresses) {
  LiveConfig out;
  auto allowed = parseRanges(options.allowClients, "--allow-client");
  if (!allowed.ok()) return allowed.failure();
  out.allowedClients = std::move(allowed.value());
  auto admins = parseRanges(options.adminAllow, "--admin-allow");
  if (!admins.ok()) return admins.failure();
  out.adminClients = std::move(admins.value());
  try {
    // parseTargetRules is shared with the command line, which reports by exception.
    out.targets =
        std::make_shared<const TargetPolicy>(parseTargetRules(options.allowTargets),
                                             parseTargetRules(options.denyTargets), ownAddresses);
  } catch (const std::exception &e) {
    return fail(Error::kInvalidInput, e.what());
  }
  if (!options.proxyAuthFile.empty()) {
    auto users = ProxyUsers::load(options.proxyAuthFile);
    if (!users.ok()) return users.failure();
    log::proxy().info("proxy credentials required: {} user(s) in {}", users->size(),
                      options.proxyAuthFile.string());
    out.proxyUsers = std::make_shared<const ProxyUsers>(std::move(users.value()));
  }
  if (!options.upstreamAuthFile.empty()) {
    auto credentials = upstream_auth::Credentials::load(options.upstreamAuthFile);
    if (!credentials.ok()) return credentials.failure();
    log::proxy().info("upstream accounts for {} registr{} from {}", credentials->size(),
                      credentials->size() == 1 ? "y" : "ies", options.upstreamAuthFile.string());
    out.upstreamCredentials =
        std::make_shared<const upstream_auth::Credentials>(std::move(credentials.value()));
  }
  return out;
}

void publish(SharedContext &shared, LiveConfig config) {
  shared.allowedClients.store(std::move(config.allowedClients));
  shared.adminClients.store(std::move(config.adminClients));
  shared.targets.store(std::move(config.targets));
  shared.proxyUsers.store(std::move(config.proxyUsers));
  bool hadAccounts = shared.upstreamCredentials.load() != nullptr;
  shared.upstreamCredentials.store(std::move(config.upstreamCredentials));
  // A token got with an account that may be gone must not outlive it.
  if (hadAccounts) shared.upstreamTokens.clear();
}

} // namespace regcache::proxy
