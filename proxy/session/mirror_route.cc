#include "proxy/session/mirror_route.h"

#include <algorithm>
#include <cctype>

#include "base/oci/registry_route.h"
#include "proxy/access/policy.h"

namespace regcache::proxy {
namespace {

MirrorRoute refuse(int status, std::string code, std::string message) {
  MirrorRoute route;
  route.kind = MirrorRoute::Kind::kRefuse;
  route.status = status;
  route.code = std::move(code);
  route.message = std::move(message);
  return route;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The query without its ns parameters, and the value of the first one (nullopt without any).
struct SplitQuery {
  std::string rest;
  std::optional<std::string> ns; // still percent-encoded
};

SplitQuery splitQuery(std::string_view query) {
  SplitQuery out;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (item.rfind("ns=", 0) == 0) {
      if (!out.ns) out.ns = std::string(item.substr(3));
      continue;
    }
    if (item.empty()) continue;
    out.rest += (out.rest.empty() ? "" : "&") + std::string(item);
  }
  return out;
}

std::string formatRegistry(const http::HostPort &registry) {
  return http::formatAuthority(registry, 443);
}

} // namespace

std::optional<std::string> percentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int high = hexValue(text[i + 1]);
      int low = hexValue(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

Result<http::HostPort> parseMirrorRegistry(std::string_view name) {
  if (name.empty()) return fail(Error::kInvalidInput, "empty registry name");
  // parseHostField rejects userinfo, paths and invalid hosts; a registry name is nothing more.
  auto parsed = http::parseHostField(name);
  if (!parsed.ok() || parsed->host.empty() || name.find_first_of(" \t") != std::string_view::npos) {
    return fail(Error::kInvalidInput, "bad registry name '" + std::string(name) + "'");
  }
  http::HostPort registry = parsed.value();
  std::transform(registry.host.begin(), registry.host.end(), registry.host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!registry.host.empty() && registry.host.back() == '.') registry.host.pop_back();
  if (registry.port == 0) registry.port = 443;
  // Docker Hub's image names say docker.io; its API lives on registry-1.docker.io.
  if ((registry.host == "docker.io" || registry.host == "index.docker.io") &&
      registry.port == 443) {
    registry.host = std::string(kDockerHubRegistry);
  }
  return registry;
}

bool mirrorAllows(const std::vector<std::string> &allowed, const http::HostPort &registry) {
  if (allowed.empty()) return true;
  for (const auto &entry : allowed) {
    std::string_view text = entry;
    bool wildcard = text.rfind("*.", 0) == 0;
    // "*.example.com[:port]": the pattern's host is not a valid host name, so split it here.
    std::string_view host = text;
    std::uint16_t port = 443;
    if (wildcard) {
      auto colon = text.rfind(':');
      if (colon != std::string_view::npos) {
        host = text.substr(0, colon);
        auto parsed = parseMirrorRegistry("x" + std::string(text.substr(colon)));
        if (!parsed.ok()) continue;
        port = parsed->port;
      }
      if (port == registry.port && hostMatches(host, registry.host)) return true;
      continue;
    }
    auto parsed = parseMirrorRegistry(text);
    if (parsed.ok() && parsed->host == registry.host && parsed->port == registry.port) return true;
  }
  return false;
}

MirrorRoute routeMirror(const http::RequestHead &head, const std::vector<std::string> &allowed) {
  std::string_view target = head.target;
  auto question = target.find('?');
  std::string_view path = target.substr(0, question);
  SplitQuery query = splitQuery(question == std::string_view::npos ? std::string_view()
                                                                   : target.substr(question + 1));
  bool read = head.method == "GET" || head.method == "HEAD";
  if (path == "/v2/" || path == "/v2") {
    if (!read) return refuse(405, "UNSUPPORTED", "the regcache mirror serves pulls only");
    MirrorRoute ping;
    ping.kind = MirrorRoute::Kind::kPing;
    return ping;
  }
  if (!read) {
    return refuse(405, "UNSUPPORTED",
                  "the regcache mirror serves pulls only; push to the registry itself");
  }
  auto registryPath = oci::parseRegistryPath(path);
  if (!registryPath) {
    return refuse(404, "UNSUPPORTED",
                  "the regcache mirror serves the /v2/ ping, manifests and blobs only");
  }
  http::HostPort upstream;
  std::string_view upstreamPath = path;
  std::string_view first =
      std::string_view(registryPath->repository).substr(0, registryPath->repository.find('/'));
  bool registryPrefix = first.size() < registryPath->repository.size() &&
                        (first.find('.') != std::string_view::npos || first == "localhost");
  if (!query.ns && registryPrefix) {
    // registries.conf mirrors (podman, skopeo, buildah) send no ns, but their location may
    // carry a path: "regcache:3128/ghcr.io" asks for /v2/ghcr.io/org/app/... A first component
    // with a dot is a registry, as in Docker's own reference grammar (Docker Hub's namespaces
    // have none).
    auto registry = parseMirrorRegistry(first);
    if (!registry.ok()) return refuse(400, "UNSUPPORTED", "the path does not name a registry");
    upstream = registry.value();
    upstreamPath = path.substr(4 + first.size()); // "/v2/" + first, keeping the '/' after it
  } else if (query.ns) {
    auto decoded = percentDecode(*query.ns);
    auto registry = decoded ? parseMirrorRegistry(*decoded)
                            : Result<http::HostPort>(fail(Error::kInvalidInput, "bad escape"));
    if (!registry.ok()) {
      return refuse(400, "UNSUPPORTED", "the ns parameter does not name a registry");
    }
    upstream = registry.value();
  } else {
    upstream = parseMirrorRegistry(kDockerHubRegistry).value();
  }
  if (!mirrorAllows(allowed, upstream)) {
    MirrorRoute refused =
        refuse(403, "DENIED",
               "regcache does not mirror " + formatRegistry(upstream) + " (--mirror-registries)");
    refused.upstream = std::move(upstream);
    return refused;
  }
  MirrorRoute route;
  route.kind = MirrorRoute::Kind::kForward;
  route.upstream = std::move(upstream);
  route.originTarget =
      (upstreamPath == path ? std::string(path) : "/v2" + std::string(upstreamPath)) +
      (query.rest.empty() ? "" : "?" + query.rest);
  return route;
}

} // namespace regcache::proxy
