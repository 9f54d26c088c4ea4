#pragma once
// `regcache serve --print-config`: the effective configuration as a TOML file that `--config`
// reads back, with secrets redacted.
#include <string>
#include <vector>

#include "app/cli.h"

namespace regcache::app {

// A value with any secret in it replaced by "<redacted>": the password of a URL's userinfo
// (scheme://user:secret@host), or the whole value when `key` names a secret (password, secret,
// token). Other values come back unchanged.
std::string redact(const std::string &key, const std::string &value);

// The entries as TOML, one `key = value` line each, redacted; an unset entry is a comment.
// `dataDir` replaces an unset data-dir (the default that applies).
std::string formatConfig(const std::vector<ConfigEntry> &entries, const std::string &dataDir);

} // namespace regcache::app
