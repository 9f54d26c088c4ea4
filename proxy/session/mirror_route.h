#pragma once
// The mirror endpoint's routing: origin-form registry requests sent to regcache's own listener
// (containerd hosts.toml, buildkit mirrors, dockerd registry-mirrors) name their upstream with
// containerd's `?ns=<registry>` parameter, or Docker Hub without one. A pure function of the
// request head and --mirror-registries, so the rules are unit tested apart from any socket.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "proxy/http/message.h"
#include "proxy/http/target.h"

namespace regcache::proxy {

// What the mirror does with one request.
struct MirrorRoute {
  enum class Kind {
    kForward, // a pull (GET or HEAD of a manifest or a blob): to `upstream` over TLS
    kPing,    // GET or HEAD /v2/: the mirror answers 200 itself, without auth
    kRefuse,  // an OCI error: `status`, `code`, `message`
  };
  Kind kind = Kind::kRefuse;
  http::HostPort upstream;  // the registry (port 443 unless ns names one); empty host if unknown
  std::string originTarget; // kForward: the path and query sent upstream, without ns
  int status = 0;           // kRefuse
  std::string code;         // kRefuse: an OCI error code (DENIED, UNSUPPORTED, ...)
  std::string message;      // kRefuse
};

// Docker Hub's API host: where dockerd's registry-mirrors requests (no ns) and ns=docker.io go.
inline constexpr std::string_view kDockerHubRegistry = "registry-1.docker.io";

// The registry a name means, as ns or --mirror-registries gives it: "docker.io" (and
// "index.docker.io") is registry-1.docker.io; "host" is port 443; "host:port" and "[v6]:port" as
// given. Lowercased. kInvalidInput for anything that is not a host with an optional port.
Result<http::HostPort> parseMirrorRegistry(std::string_view name);

// Whether --mirror-registries lets the mirror reach `registry`. Each entry is a registry name as
// above, with `*.domain` patterns for the host; an entry without a port means port 443. An empty
// list allows every registry (the target policy still judges each connection).
bool mirrorAllows(const std::vector<std::string> &allowed, const http::HostPort &registry);

// Routes an origin-form request under /v2 (not /v2/_catalog, an admin endpoint) arriving on the
// proxy's own listener. Never fails: a request the mirror does not serve gets kRefuse.
MirrorRoute routeMirror(const http::RequestHead &head, const std::vector<std::string> &allowed);

// Decodes %XX escapes and '+' (a space, as Go's url.Values encodes); nullopt for a bad escape.
std::optional<std::string> percentDecode(std::string_view text);

} // namespace regcache::proxy
