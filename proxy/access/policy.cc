#include "proxy/access/policy.h"

#include <algorithm>
#include <cctype>

namespace regcache::proxy {
namespace {

std::string normalize(std::string_view host) {
  std::string out(host);
  if (!out.empty() && out.back() == '.') out.pop_back();
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

} // namespace

bool hostMatches(std::string_view pattern, std::string_view host) {
  std::string p = normalize(pattern);
  std::string h = normalize(host);
  if (p == "*") return true;
  if (p.rfind("*.", 0) == 0) return endsWith(h, p.substr(1)) && h.size() > p.size() - 1;
  if (!p.empty() && p.front() == '.') return h == p.substr(1) || endsWith(h, p);
  return h == p;
}

InterceptPolicy::InterceptPolicy(std::vector<std::string> interceptPatterns,
                                 std::vector<std::string> tunnelPatterns)
    : intercept_(std::move(interceptPatterns)), tunnel_(std::move(tunnelPatterns)) {}

bool InterceptPolicy::shouldIntercept(std::string_view host) const {
  auto matches = [&](const std::string &pattern) { return hostMatches(pattern, host); };
  if (std::any_of(tunnel_.begin(), tunnel_.end(), matches)) return false;
  return std::any_of(intercept_.begin(), intercept_.end(), matches);
}

} // namespace regcache::proxy
