#include "proxy/http/headers.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace regcache::proxy::http {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

template <class F> void forEachToken(std::string_view list, F &&f) {
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    std::string_view token = trim(list.substr(0, comma));
    if (!token.empty()) f(token);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

} // namespace

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

void Headers::add(std::string name, std::string value) {
  entries_.emplace_back(std::move(name), std::move(value));
}

void Headers::set(std::string_view name, std::string value) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (equalsIgnoreCase(it->first, name)) {
      it->second = std::move(value);
      entries_.erase(
          std::remove_if(it + 1, entries_.end(),
                         [&](const Entry &e) { return equalsIgnoreCase(e.first, name); }),
          entries_.end());
      return;
    }
  }
  entries_.emplace_back(std::string(name), std::move(value));
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (const auto &[n, v] : entries_) {
    if (equalsIgnoreCase(n, name)) return std::string_view(v);
  }
  return std::nullopt;
}

std::size_t Headers::remove(std::string_view name) {
  auto end = std::remove_if(entries_.begin(), entries_.end(),
                            [&](const Entry &e) { return equalsIgnoreCase(e.first, name); });
  std::size_t removed = static_cast<std::size_t>(entries_.end() - end);
  entries_.erase(end, entries_.end());
  return removed;
}

bool Headers::hasToken(std::string_view name, std::string_view token) const {
  bool found = false;
  for (const auto &[n, v] : entries_) {
    if (!equalsIgnoreCase(n, name)) continue;
    forEachToken(v, [&](std::string_view t) { found = found || equalsIgnoreCase(t, token); });
  }
  return found;
}

bool isEndToEndField(std::string_view name) {
  // The fields whose meaning is the message's own: framing and routing, authorization, the
  // representation and its validators, the registry's digest. A peer saying they are hop-by-hop
  // is lying, and obeying would let it strip the length off a body it smuggles behind.
  static constexpr std::array<std::string_view, 24> kEndToEnd = {"Host",
                                                                 "Content-Length",
                                                                 "Transfer-Encoding",
                                                                 "Authorization",
                                                                 "Content-Type",
                                                                 "Content-Encoding",
                                                                 "Content-Range",
                                                                 "Range",
                                                                 "Accept",
                                                                 "Accept-Encoding",
                                                                 "Expect",
                                                                 "Via",
                                                                 "Location",
                                                                 "WWW-Authenticate",
                                                                 "ETag",
                                                                 "Last-Modified",
                                                                 "If-None-Match",
                                                                 "If-Match",
                                                                 "If-Range",
                                                                 "Cache-Control",
                                                                 "Date",
                                                                 "Retry-After",
                                                                 "Docker-Content-Digest",
                                                                 "Docker-Distribution-API-Version"};
  return std::any_of(kEndToEnd.begin(), kEndToEnd.end(),
                     [&](std::string_view field) { return equalsIgnoreCase(field, name); });
}

void stripHopByHop(Headers &headers) {
  std::vector<std::string> named;
  for (const auto &[n, v] : headers.entries()) {
    if (!equalsIgnoreCase(n, "Connection")) continue;
    forEachToken(v, [&](std::string_view t) {
      if (!isEndToEndField(t)) named.emplace_back(t);
    });
  }
  for (const auto &name : named)
    headers.remove(name);
  static constexpr std::array<std::string_view, 9> kHopByHop = {
      "Connection",        "Proxy-Connection",  "Keep-Alive", "TE",
      "Trailer",           "Transfer-Encoding", "Upgrade",    "Proxy-Authorization",
      "Proxy-Authenticate"};
  for (auto name : kHopByHop)
    headers.remove(name);
}

} // namespace regcache::proxy::http
