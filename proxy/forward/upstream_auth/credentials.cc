#include "proxy/forward/upstream_auth/credentials.h"

#include <algorithm>
#include <cctype>

#include "base/base64.h"
#include "base/private_file.h"

namespace regcache::proxy::upstream_auth {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
    text.remove_suffix(1);
  return text;
}

// A TOML basic string ("...", with \" \\ \n \t escapes) or literal string ('...').
std::optional<std::string> parseString(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  char quote = text.front();
  if ((quote != '"' && quote != '\'') || text.back() != quote) return std::nullopt;
  std::string_view inner = text.substr(1, text.size() - 2);
  std::string out;
  for (std::size_t i = 0; i < inner.size(); ++i) {
    char c = inner[i];
    if (c == quote) return std::nullopt; // a quote inside: not one string
    if (c != '\\' || quote == '\'') {
      out += c;
      continue;
    }
    if (++i == inner.size()) return std::nullopt;
    switch (inner[i]) {
    case '"': out += '"'; break;
    case '\\': out += '\\'; break;
    case 'n': out += '\n'; break;
    case 't': out += '\t'; break;
    default: return std::nullopt;
    }
  }
  return out;
}

Failure lineError(std::size_t line, const std::string &what) {
  return fail(Error::kInvalidInput, "upstream auth line " + std::to_string(line) + ": " + what);
}

} // namespace

Result<Credentials> Credentials::parse(std::string_view text,
                                       const std::filesystem::path &baseDir) {
  struct Entry {
    std::string username, password, token, tokenFile;
    bool allowHttpRealm = false;
    std::size_t line = 0;
  };
  std::map<std::string, Entry> entries;
  Entry *current = nullptr;
  std::size_t lineNumber = 0;
  while (!text.empty()) {
    auto newline = text.find('\n');
    std::string_view line = trim(text.substr(0, newline));
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    ++lineNumber;
    if (line.empty() || line.front() == '#') continue;
    if (line.front() == '[') {
      if (line.back() != ']' || line.size() < 3) return lineError(lineNumber, "bad table header");
      std::string_view name = trim(line.substr(1, line.size() - 2));
      std::string host(name);
      if (!name.empty() && (name.front() == '"' || name.front() == '\'')) {
        auto parsed = parseString(name);
        if (!parsed) return lineError(lineNumber, "bad quoted host");
        host = *parsed;
      }
      if (host.empty()) return lineError(lineNumber, "empty host");
      host = lower(host);
      if (entries.count(host) != 0) return lineError(lineNumber, "host listed twice: " + host);
      current = &entries[host];
      current->line = lineNumber;
      continue;
    }
    auto equals = line.find('=');
    if (equals == std::string_view::npos) return lineError(lineNumber, "expected key = \"value\"");
    if (current == nullptr) return lineError(lineNumber, "a key before any [host] table");
    std::string key(trim(line.substr(0, equals)));
    if (key == "allow_http_realm") {
      std::string_view flag = trim(line.substr(equals + 1));
      if (flag != "true" && flag != "false") {
        return lineError(lineNumber, "the value of allow_http_realm must be true or false");
      }
      current->allowHttpRealm = flag == "true";
      continue;
    }
    auto value = parseString(trim(line.substr(equals + 1)));
    if (!value) return lineError(lineNumber, "the value of " + key + " must be a quoted string");
    if (key == "username") {
      current->username = *value;
    } else if (key == "password") {
      current->password = *value;
    } else if (key == "token") {
      current->token = *value;
    } else if (key == "token_file") {
      current->tokenFile = *value;
    } else {
      return lineError(lineNumber, "unknown key " + key);
    }
  }
  Credentials out;
  for (auto &[host, entry] : entries) {
    int secrets = !entry.password.empty() + !entry.token.empty() + !entry.tokenFile.empty();
    if (secrets != 1) {
      return lineError(entry.line, host + " needs exactly one of password, token, token_file");
    }
    Credential credential{entry.username, entry.password.empty() ? entry.token : entry.password,
                          entry.allowHttpRealm};
    if (!entry.tokenFile.empty()) {
      std::filesystem::path path = entry.tokenFile;
      if (path.is_relative()) path = baseDir / path;
      auto content = readPrivateFile(path);
      if (!content.ok()) return lineError(entry.line, "token_file: " + content.failure().detail);
      std::string_view first = content.value();
      credential.secret = std::string(trim(first.substr(0, first.find('\n'))));
      if (credential.secret.empty()) {
        return lineError(entry.line, "token_file " + path.string() + " is empty");
      }
    }
    if (credential.username.empty()) credential.username = "token"; // registries ignore it then
    out.byHost_[host] = std::move(credential);
  }
  return out;
}

Result<Credentials> Credentials::load(const std::filesystem::path &path) {
  auto text = readPrivateFile(path);
  if (!text.ok()) return text.failure();
  return parse(text.value(), path.parent_path());
}

const Credential *Credentials::find(std::string_view host) const {
  auto it = byHost_.find(lower(host));
  return it == byHost_.end() ? nullptr : &it->second;
}

std::string basicAuthorization(const Credential &credential) {
  return "Basic " + encodeBase64(credential.username + ":" + credential.secret);
}

} // namespace regcache::proxy::upstream_auth
