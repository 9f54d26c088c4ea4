#pragma once
// WWW-Authenticate challenges (RFC 9110 §11.6.1) as registries send them:
//   Bearer
//   realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"
//   Basic realm="Registry Realm"
// A header may hold several challenges separated by commas; token68 forms are kept as `token68`.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace regcache::proxy::http {

struct AuthChallenge {
  std::string scheme;                        // lower case: "bearer", "basic"
  std::map<std::string, std::string> params; // names lower case, values unquoted
  std::string token68;
  std::optional<std::string> param(const std::string &name) const;
};

// Every challenge in the header value, in order; malformed input yields what parsed before it.
std::vector<AuthChallenge> parseAuthChallenges(std::string_view header);

} // namespace regcache::proxy::http
