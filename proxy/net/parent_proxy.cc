#include "proxy/net/parent_proxy.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "base/base64.h"
#include "proxy/net/socket_address.h"

namespace regcache::proxy::net {
namespace {

std::string authority(const std::string &host, std::uint16_t port) {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percentDecode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    int high = hexValue(text[i + 1]);
    int low = hexValue(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

bool validName(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == '_';
  });
}

Failure bad(const std::string &why) {
  return Failure{Error::kInvalidInput, "bad --upstream-proxy: " + why};
}

} // namespace

std::string ParentProxy::display() const { return authority(host, port); }

Result<ParentProxy> parseParentProxyUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  std::string lowered(url.substr(0, std::min(url.size(), kScheme.size())));
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lowered != kScheme) return bad("expected http://[USER:PASSWORD@]HOST:PORT");
  std::string_view rest = url.substr(kScheme.size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find_first_of("/?#") != std::string_view::npos) return bad("a proxy URL has no path");
  ParentProxy parent;
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    auto colon = userinfo.find(':');
    auto user = percentDecode(userinfo.substr(0, colon));
    auto password = percentDecode(colon == std::string_view::npos ? std::string_view{}
                                                                  : userinfo.substr(colon + 1));
    if (!user || !password || user->empty()) return bad("malformed user or password");
    // RFC 7617: the user name must not contain a colon (percent-decoded ones included).
    if (user->find(':') != std::string::npos) return bad("a user name cannot contain ':'");
    if (std::any_of(user->begin(), user->end(),
                    [](unsigned char c) { return c < 0x20 || c == 0x7f; }) ||
        std::any_of(password->begin(), password->end(),
                    [](unsigned char c) { return c < 0x20 || c == 0x7f; })) {
      return bad("control characters in the user or password");
    }
    parent.authorization = "Basic " + encodeBase64(*user + ":" + *password);
  }
  std::string_view host = rest;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos) return bad("unclosed '[' in the host");
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (after.empty() || after.front() != ':') return bad("a port is required");
    port = after.substr(1);
    if (!isIpLiteral(std::string(host))) return bad("bad IPv6 address");
  } else {
    auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) return bad("a port is required (http://HOST:PORT)");
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (!validName(host)) return bad("bad host '" + std::string(host) + "'");
  }
  unsigned value = 0;
  auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || error != std::errc() || end != port.data() + port.size() || value == 0 ||
      value > 65535) {
    return bad("bad port '" + std::string(port) + "'");
  }
  parent.host = std::string(host);
  std::transform(parent.host.begin(), parent.host.end(), parent.host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  parent.port = static_cast<std::uint16_t>(value);
  return parent;
}

std::string connectRequest(const ParentProxy &parent, const std::string &originHost,
                           std::uint16_t originPort) {
  std::string target = authority(originHost, originPort);
  std::string out = "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n";
  if (!parent.authorization.empty()) out += "Proxy-Authorization: " + parent.authorization + "\r\n";
  return out + "\r\n";
}

} // namespace regcache::proxy::net
