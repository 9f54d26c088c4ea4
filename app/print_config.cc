#include "app/print_config.h"

#include <algorithm>
#include <regex>
#include <sstream>

namespace regcache::app {
namespace {

// Flags that act on the configuration rather than set it; they have no config key.
bool isAction(const std::string &key) {
  return key == "help" || key == "help-all" || key == "config" || key == "print-config" ||
         key == "check-config";
}

// CLI11's default string of a vector option is "[a,b,c]"; of a scalar, the value itself.
std::vector<std::string> splitDefault(const std::string &text, bool list) {
  if (text.empty()) return {};
  if (!list || text.front() != '[' || text.back() != ']') return {text};
  std::vector<std::string> out;
  std::string inner = text.substr(1, text.size() - 2);
  std::stringstream in(inner);
  for (std::string item; std::getline(in, item, ',');)
    out.push_back(item);
  return out;
}

std::string quoted(const std::string &text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string tomlValue(const ConfigEntry &entry, const std::string &value) {
  if (entry.flag) return value;
  if (!value.empty() && std::all_of(value.begin(), value.end(), ::isdigit)) return value;
  return quoted(value);
}

} // namespace

bool Cli::isConfigKey(const std::string &key) const {
  const CLI::Option *option = serve_->get_option_no_throw("--" + key);
  return option != nullptr && !isAction(key);
}

std::vector<ConfigEntry> Cli::effectiveConfig() const {
  std::vector<ConfigEntry> out;
  for (const CLI::Option *option : serve_->get_options()) {
    if (option->get_lnames().empty()) continue;
    ConfigEntry entry;
    entry.key = option->get_lnames().front();
    if (isAction(entry.key)) continue;
    entry.flag = option->get_expected_max() == 0; // CLI11 flags take no value
    entry.list = option->get_expected_max() > 1;
    if (entry.flag) {
      entry.values = {option->count() != 0 && option->as<bool>() ? "true" : "false"};
    } else if (option->count() != 0) {
      entry.values = option->results();
    } else {
      entry.values = splitDefault(option->get_default_str(), entry.list);
    }
    out.push_back(std::move(entry));
  }
  return out;
}

std::string redact(const std::string &key, const std::string &value) {
  static const std::regex secretKey("password|secret|token", std::regex::icase);
  if (std::regex_search(key, secretKey)) return "<redacted>";
  // scheme://user:password@host -> scheme://user:<redacted>@host
  static const std::regex userinfo(R"(^([A-Za-z][A-Za-z0-9+.-]*://[^/:@]*):[^/@]*@)");
  return std::regex_replace(value, userinfo, "$1:<redacted>@");
}

std::string formatConfig(const std::vector<ConfigEntry> &entries, const std::string &dataDir) {
  std::ostringstream out;
  out << "# regcache serve: the effective configuration (config file, flags and defaults "
         "merged); secrets redacted.\n";
  for (const auto &entry : entries) {
    std::vector<std::string> values = entry.values;
    if (entry.key == "data-dir" && values.empty()) values = {dataDir};
    if (values.empty()) {
      out << "# " << entry.key << (entry.list ? " = []" : " = \"\"") << "  (unset)\n";
      continue;
    }
    out << entry.key << " = ";
    if (entry.list) {
      out << "[";
      for (std::size_t i = 0; i < values.size(); ++i) {
        out << (i == 0 ? "" : ", ") << tomlValue(entry, redact(entry.key, values[i]));
      }
      out << "]\n";
    } else {
      out << tomlValue(entry, redact(entry.key, values.back())) << "\n";
    }
  }
  return out.str();
}

} // namespace regcache::app
