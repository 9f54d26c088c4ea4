#pragma once
// Which CONNECT targets are intercepted (TLS terminated, requests seen) and which are tunnelled.
#include <string>
#include <string_view>
#include <vector>

namespace regcache::proxy {

// A host pattern: "*" (every host), "*.example.com" (any subdomain of example.com, not
// example.com itself), ".example.com" (example.com and its subdomains) or an exact host.
// Matching is case-insensitive and ignores a trailing dot.
bool hostMatches(std::string_view pattern, std::string_view host);

class InterceptPolicy {
public:
  InterceptPolicy(std::vector<std::string> interceptPatterns,
                  std::vector<std::string> tunnelPatterns);
  // Tunnel patterns win over intercept patterns; a host matching neither is tunnelled.
  bool shouldIntercept(std::string_view host) const;

private:
  std::vector<std::string> intercept_;
  std::vector<std::string> tunnel_;
};

} // namespace regcache::proxy
