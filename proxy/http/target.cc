#include "proxy/http/target.h"

#include <cctype>
#include <charconv>

namespace regcache::proxy::http {
namespace {

bool validHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

bool validIpv6Char(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char &c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Result<std::uint16_t> parsePort(std::string_view text) {
  if (text.empty() || text.size() > 5) return fail(Error::kInvalidInput, "bad port");
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535) {
    return fail(Error::kInvalidInput, "bad port '" + std::string(text) + "'");
  }
  return static_cast<std::uint16_t>(value);
}

// Splits "host", "host:port", "[v6]" or "[v6]:port". portText is empty when absent.
Result<HostPort> parseAuthority(std::string_view authority, std::string_view &portText) {
  HostPort out;
  portText = {};
  if (authority.empty()) return fail(Error::kInvalidInput, "empty host");
  if (authority.find('@') != std::string_view::npos) {
    return fail(Error::kInvalidInput, "userinfo is not allowed");
  }
  std::string_view host;
  if (authority.front() == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail(Error::kInvalidInput, "unclosed '['");
    host = authority.substr(1, close - 1);
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return fail(Error::kInvalidInput, "junk after ']'");
      portText = rest.substr(1);
      if (portText.empty()) return fail(Error::kInvalidInput, "empty port");
    }
    if (host.empty() || host.find(':') == std::string_view::npos) {
      return fail(Error::kInvalidInput, "bad IPv6 literal");
    }
    for (char c : host) {
      if (!validIpv6Char(c)) return fail(Error::kInvalidInput, "bad IPv6 literal");
    }
    out.ipv6Literal = true;
  } else {
    std::size_t colon = authority.rfind(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      portText = authority.substr(colon + 1);
      if (portText.empty()) return fail(Error::kInvalidInput, "empty port");
    }
    if (host.empty()) return fail(Error::kInvalidInput, "empty host");
    if (host.size() > 253) return fail(Error::kInvalidInput, "host name too long");
    for (char c : host) {
      if (!validHostChar(c)) return fail(Error::kInvalidInput, "bad character in host");
    }
  }
  out.host = lower(host);
  return out;
}

} // namespace

Result<HostPort> parseConnectTarget(std::string_view target) {
  std::string_view portText;
  auto parsed = parseAuthority(target, portText);
  if (!parsed.ok()) return parsed.failure();
  if (portText.empty()) return fail(Error::kInvalidInput, "CONNECT target needs a port");
  auto port = parsePort(portText);
  if (!port.ok()) return port.failure();
  parsed->port = port.value();
  return parsed;
}

Result<HostPort> parseHostField(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
    value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
    value.remove_suffix(1);
  std::string_view portText;
  auto parsed = parseAuthority(value, portText);
  if (!parsed.ok()) return parsed.failure();
  if (!portText.empty()) {
    auto port = parsePort(portText);
    if (!port.ok()) return port.failure();
    parsed->port = port.value();
  }
  return parsed;
}

Result<AbsoluteUrl> parseAbsoluteUrl(std::string_view target) {
  std::size_t schemeEnd = target.find("://");
  if (schemeEnd == std::string_view::npos || schemeEnd == 0) {
    return fail(Error::kInvalidInput, "not an absolute URL");
  }
  AbsoluteUrl url;
  url.scheme = lower(target.substr(0, schemeEnd));
  for (char c : url.scheme) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return fail(Error::kInvalidInput, "bad scheme");
    }
  }
  std::string_view rest = target.substr(schemeEnd + 3);
  std::size_t pathStart = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, pathStart);
  std::string_view portText;
  auto hostPort = parseAuthority(authority, portText);
  if (!hostPort.ok()) return hostPort.failure();
  url.authority = hostPort.value();
  if (!portText.empty()) {
    auto port = parsePort(portText);
    if (!port.ok()) return port.failure();
    url.authority.port = port.value();
  } else {
    url.authority.port = url.scheme == "https" ? 443 : 80;
  }
  std::string_view path = pathStart == std::string_view::npos ? "" : rest.substr(pathStart);
  path = path.substr(0, path.find('#'));
  // Built with append: GCC 12 at -O3 reports a false -Wrestrict on "/" + std::string.
  url.pathAndQuery.clear();
  if (path.empty() || path.front() != '/') url.pathAndQuery.push_back('/');
  url.pathAndQuery.append(path);
  return url;
}

std::string registryKey(const HostPort &hostPort, bool tls) {
  return tls ? formatAuthority(hostPort, 443) : "http://" + formatAuthority(hostPort, 80);
}

std::string formatAuthority(const HostPort &hostPort, std::uint16_t defaultPort) {
  std::string out;
  if (hostPort.ipv6Literal) {
    out.push_back('[');
    out.append(hostPort.host);
    out.push_back(']');
  } else {
    out = hostPort.host;
  }
  if (hostPort.port != 0 && hostPort.port != defaultPort) {
    out.push_back(':');
    out.append(std::to_string(hostPort.port));
  }
  return out;
}

} // namespace regcache::proxy::http
