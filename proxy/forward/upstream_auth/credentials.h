#pragma once
// The operator's accounts for upstream registries (--upstream-auth FILE), used when a client
// sends no Authorization of its own. The file is TOML, one table per registry host:
//
//   ["registry-1.docker.io"]
//   username = "ci-bot"
//   token_file = "/etc/regcache/hub.token"   # or: password = "...", or: token = "..."
//   allow_http_realm = false                  # true: a Bearer realm may be http://
//
// An account goes only over verified TLS, and only to the host (and port: 443 for a bare host)
// of its table. A Bearer challenge's realm gets the account only when it is https://, unless
// `allow_http_realm = true` says this registry's token server speaks plain HTTP on purpose.
// It must not be readable by group or others: loading refuses it otherwise.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace regcache::proxy::upstream_auth {

struct Credential {
  std::string username;
  std::string secret; // the password or token; never logged
  // The operator allows an http:// token realm for this account (the secret then crosses the
  // network in the clear); off by default.
  bool allowHttpRealm = false;
};

class Credentials {
public:
  // Parses the text of the file; `baseDir` resolves relative token_file paths.
  static Result<Credentials> parse(std::string_view text, const std::filesystem::path &baseDir);
  // Reads and parses the file, refusing one that group or others can read.
  static Result<Credentials> load(const std::filesystem::path &path);

  // The account for a registry host ("host" or "host:port", case-insensitive).
  const Credential *find(std::string_view host) const;
  std::size_t size() const { return byHost_.size(); }

private:
  std::map<std::string, Credential> byHost_;
};

// "Basic base64(user:secret)".
std::string basicAuthorization(const Credential &credential);

} // namespace regcache::proxy::upstream_auth
