#include "app/doctor.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/bundle_pin.h"

extern char **environ;

namespace regcache::app {
namespace {

using Outcome = DoctorCheck::Outcome;

std::string readFile(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string lower(std::string text) {
  for (char &c : text)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

struct Captured {
  int status = -1; // exit code; -1 when it could not run
  std::string out;
};

// Runs argv (no shell) and captures its stdout, at most 1 MiB. curl's own --max-time bounds it.
Captured run(const std::vector<std::string> &argv) {
  Captured result;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return result;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::vector<char *> args;
  for (const auto &a : argv)
    args.push_back(const_cast<char *>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return result;
  }
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) {
    if (result.out.size() < (1u << 20)) result.out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string proxyHost(const std::string &url) {
  auto start = url.find("://");
  std::string rest = start == std::string::npos ? url : url.substr(start + 3);
  rest = rest.substr(0, rest.find('/'));
  if (!rest.empty() && rest.front() == '[') return rest.substr(1, rest.find(']') - 1);
  return rest.substr(0, rest.rfind(':'));
}

// The value of header `name` in a head curl printed with -D -, or "".
std::string header(const std::string &head, const std::string &name) {
  std::istringstream lines(head);
  std::string line;
  std::string want = lower(name) + ":";
  while (std::getline(lines, line)) {
    if (lower(line).rfind(want, 0) == 0) {
      std::string value = line.substr(want.size());
      value.erase(0, value.find_first_not_of(" \t"));
      while (!value.empty() && (value.back() == '\r' || value.back() == ' '))
        value.pop_back();
      return value;
    }
  }
  return {};
}

int statusOf(const std::string &head) {
  // The last status line wins (curl prints every response of a CONNECT).
  int status = 0;
  std::istringstream lines(head);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("HTTP/", 0) == 0) {
      auto space = line.find(' ');
      if (space != std::string::npos) status = std::atoi(line.c_str() + space + 1);
    }
  }
  return status;
}

DoctorCheck ok(std::string name, std::string detail) {
  return {std::move(name), Outcome::kOk, std::move(detail), {}};
}
DoctorCheck failed(std::string name, std::string detail, std::string fix) {
  return {std::move(name), Outcome::kFail, std::move(detail), std::move(fix)};
}
DoctorCheck skipped(std::string name, std::string detail) {
  return {std::move(name), Outcome::kSkipped, std::move(detail), {}};
}

std::string installHint(const DoctorOptions &o, const std::vector<std::string> &roots) {
  std::string hint = "regcache ca install --bundle-url " + o.proxyUrl + "/ca.crt";
  for (const auto &root : roots)
    hint += " --fingerprint " + root;
  return hint + ", then restart dockerd, containerd and buildkitd";
}

// Is every root of `bundle` in the PEM file `store`?
std::vector<std::string> missingRoots(const std::vector<std::string> &roots,
                                      const std::filesystem::path &store) {
  auto have = rootFingerprints(readFile(store));
  std::vector<std::string> missing;
  for (const auto &root : roots)
    if (std::find(have.begin(), have.end(), root) == have.end()) missing.push_back(root);
  return missing;
}

std::string unitEnvironment(const DoctorOptions &o, const std::string &unit) {
  std::string env = readFile(o.gateEnvDir / (unit + "-proxy.env"));
  if (o.useSystemctl) {
    auto shown = run({"systemctl", "show", "-p", "Environment", "--value", unit + ".service"});
    if (shown.status == 0) env += "\n" + shown.out;
  }
  return env;
}

bool mentionsProxy(const std::string &text, const std::string &host) {
  return !host.empty() && text.find(host) != std::string::npos;
}

DoctorCheck daemonCheck(const DoctorOptions &o, const std::string &unit,
                        const std::filesystem::path &config, const std::string &configText,
                        const std::string &client) {
  std::string host = proxyHost(o.proxyUrl);
  std::string env = unitEnvironment(o, unit);
  bool viaEnv = env.find("HTTPS_PROXY=") != std::string::npos && mentionsProxy(env, host);
  bool viaConfig = mentionsProxy(configText, host);
  std::string name = unit + " uses regcache";
  if (viaConfig || viaEnv) {
    return ok(name, std::string(viaConfig ? "mirror in " + config.string() : "") +
                        (viaConfig && viaEnv ? "; " : "") +
                        (viaEnv ? "HTTPS_PROXY in its environment" : ""));
  }
  if (configText.empty() && env.find_first_not_of(" \n") == std::string::npos &&
      !std::filesystem::exists(config)) {
    return skipped(name, "no " + config.string() + " and no proxy environment: not set up here");
  }
  return failed(name, "neither a mirror in " + config.string() + " nor HTTPS_PROXY names " + host,
                "regcache client-config --proxy " + o.proxyUrl + " --client " + client +
                    " (see docs/fail-open.md), then restart " + unit);
}

std::string hostsDirText(const std::filesystem::path &dir) {
  std::string all;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->path().filename() == "hosts.toml") all += readFile(it->path());
  }
  return all;
}

} // namespace

bool noProxyExcludes(const std::string &noProxy, const std::string &host) {
  std::string target = lower(host);
  std::istringstream entries(noProxy);
  std::string entry;
  while (std::getline(entries, entry, ',')) {
    entry.erase(0, entry.find_first_not_of(" \t"));
    while (!entry.empty() && (entry.back() == ' ' || entry.back() == '\t'))
      entry.pop_back();
    entry = lower(entry);
    if (entry.empty()) continue;
    if (entry == "*") return true;
    if (auto colon = entry.rfind(':');
        colon != std::string::npos && entry.find(':') == colon && entry.front() != '[') {
      entry = entry.substr(0, colon); // host:port still covers the host's registry port
    }
    if (entry.front() == '.') entry.erase(0, 1);
    if (target == entry) return true;
    if (target.size() > entry.size() &&
        target.compare(target.size() - entry.size(), entry.size(), entry) == 0 &&
        target[target.size() - entry.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

std::vector<DoctorCheck> runDoctorChecks(const DoctorOptions &o) {
  std::vector<DoctorCheck> checks;
  std::string proxy = o.proxyUrl;
  while (!proxy.empty() && proxy.back() == '/')
    proxy.pop_back();

  // 1. Reachable and healthy, and 6. the clock (from the same answer's Date).
  auto health = run({"curl", "-sS", "-o", "/dev/null", "-D", "-", "--noproxy", "*", "--max-time",
                     "3", proxy + "/healthz"});
  if (health.status == -1) {
    checks.push_back(failed("proxy healthy", "curl is not installed", "apt-get install curl"));
    return checks;
  }
  int status = statusOf(health.out);
  bool healthy = health.status == 0 && status == 200;
  if (healthy) {
    checks.push_back(ok("proxy healthy", proxy + "/healthz answered 200"));
  } else {
    checks.push_back(failed(
        "proxy healthy",
        status != 0 ? proxy + "/healthz answered " + std::to_string(status)
                    : "no answer from " + proxy + " within 3 s",
        "start regcache on the proxy host (systemctl enable --now regcache.socket), and check "
        "that this VM's address is in its --allow-client and that no firewall drops port " +
            proxy.substr(proxy.rfind(':') + 1)));
  }
  if (std::string date = header(health.out, "date"); healthy && !date.empty()) {
    std::tm tm{};
    if (strptime(date.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm) != nullptr) {
      long skew = static_cast<long>(std::time(nullptr) - timegm(&tm));
      if (std::labs(skew) <= 300) {
        checks.push_back(
            ok("clock", "within " + std::to_string(std::labs(skew)) + " s of the proxy's Date"));
      } else {
        checks.push_back(failed("clock",
                                "off by " + std::to_string(skew) + " s from the proxy's Date (" +
                                    date + "): certificates look not yet valid or expired",
                                "enable time sync: timedatectl set-ntp true (or chrony/ntpd)"));
      }
    }
  } else if (healthy) {
    checks.push_back(skipped("clock", "the proxy sent no Date"));
  }

  // 2. The bundle trusted by the system store and by SSL_CERT_FILE.
  std::vector<std::string> roots;
  if (healthy) {
    auto bundle = run({"curl", "-fsS", "--noproxy", "*", "--max-time", "5", proxy + "/ca.crt"});
    roots = rootFingerprints(bundle.out);
  }
  if (roots.empty()) {
    checks.push_back(skipped("CA trusted", "could not read " + proxy + "/ca.crt"));
  } else {
    auto missing = missingRoots(roots, o.systemBundle);
    if (missing.empty()) {
      checks.push_back(ok("CA trusted by the system store",
                          o.systemBundle.string() + " holds every root of the bundle"));
    } else {
      checks.push_back(failed("CA trusted by the system store",
                              o.systemBundle.string() + " lacks " + std::to_string(missing.size()) +
                                  " of the " + std::to_string(roots.size()) + " root(s) of " +
                                  proxy + "/ca.crt (SHA-256 " + missing.front() + ")",
                              installHint(o, roots)));
    }
    if (const char *file = std::getenv("SSL_CERT_FILE"); file != nullptr && *file != '\0') {
      auto missingHere = missingRoots(roots, file);
      if (missingHere.empty()) {
        checks.push_back(ok("CA trusted by SSL_CERT_FILE", std::string(file)));
      } else {
        checks.push_back(
            failed("CA trusted by SSL_CERT_FILE",
                   std::string("SSL_CERT_FILE=") + file +
                       " overrides the system store and lacks the proxy's roots",
                   "curl -fsS " + proxy + "/ca.crt >> " + file + " (or unset SSL_CERT_FILE)"));
      }
    }
  }

  // 3. A HEAD of a manifest through the proxy, trusting what clients trust.
  if (o.image.empty()) {
    checks.push_back(skipped("manifest HEAD through the proxy", "no --image given"));
  } else {
    auto slash = o.image.find('/');
    auto colon = o.image.rfind(':');
    std::string registry = o.image.substr(0, slash);
    std::string repo =
        o.image.substr(slash + 1, colon > slash ? colon - slash - 1 : std::string::npos);
    std::string tag =
        colon > slash && colon != std::string::npos ? o.image.substr(colon + 1) : "latest";
    std::string server = registry == "docker.io" ? "registry-1.docker.io" : registry;
    const char *certFile = std::getenv("SSL_CERT_FILE");
    std::string trust =
        certFile != nullptr && *certFile != '\0' ? certFile : o.systemBundle.string();
    auto head = run({"curl", "-sS", "-o", "/dev/null", "-D", "-", "-I", "--max-time", "20",
                     "--proxy", proxy, "--noproxy", "", "--cacert", trust, "-H",
                     "Accept: application/vnd.oci.image.index.v1+json, "
                     "application/vnd.oci.image.manifest.v1+json, "
                     "application/vnd.docker.distribution.manifest.list.v2+json, "
                     "application/vnd.docker.distribution.manifest.v2+json",
                     "https://" + server + "/v2/" + repo + "/manifests/" + tag});
    int code = statusOf(head.out);
    if (head.status == 0 && (code == 200 || code == 401)) {
      checks.push_back(ok("manifest HEAD through the proxy",
                          o.image + " answered " + std::to_string(code) +
                              (code == 401 ? " (needs a token: the proxy and TLS work)" : "")));
    } else {
      checks.push_back(failed(
          "manifest HEAD through the proxy",
          head.status == 60 ? "TLS verification failed: the proxy's CA is not trusted"
                            : o.image + " answered " + std::to_string(code) + " (curl exit " +
                                  std::to_string(head.status) + ")",
          head.status == 60 ? installHint(o, roots)
                            : "check the proxy's log for this request (its --allow-target and "
                              "--dns-server), and that the image exists"));
    }
  }

  // 4. The daemons have the proxy or the mirror.
  checks.push_back(daemonCheck(o, "docker", o.daemonJson, readFile(o.daemonJson), "daemon-json"));
  checks.push_back(daemonCheck(o, "containerd", o.containerdHostsDir,
                               hostsDirText(o.containerdHostsDir), "containerd-hosts"));
  checks.push_back(
      daemonCheck(o, "buildkit", o.buildkitdToml, readFile(o.buildkitdToml), "buildkitd"));

  // 5. NO_PROXY does not exclude the registries (this shell's and the daemons').
  std::vector<std::pair<std::string, std::string>> lists;
  for (const char *name : {"NO_PROXY", "no_proxy"})
    if (const char *value = std::getenv(name)) lists.emplace_back(std::string("$") + name, value);
  for (const char *unit : {"docker", "containerd", "buildkit"}) {
    std::istringstream env(unitEnvironment(o, unit));
    std::string word;
    while (env >> word) {
      for (const char *key : {"NO_PROXY=", "no_proxy="})
        if (word.rfind(key, 0) == 0)
          lists.emplace_back(std::string(unit) + "'s NO_PROXY",
                             word.substr(std::string(key).size()));
    }
  }
  std::string excluded;
  for (const auto &[where, list] : lists)
    for (const auto &registry : o.registries)
      if (noProxyExcludes(list, registry) ||
          noProxyExcludes(
              list, (registry == "docker.io" ? std::string("registry-1.docker.io") : registry)))
        excluded += (excluded.empty() ? "" : "; ") + registry + " by " + where;
  if (excluded.empty()) {
    checks.push_back(ok("NO_PROXY", "excludes none of the registries"));
  } else {
    checks.push_back(failed("NO_PROXY", "bypasses the proxy for " + excluded,
                            "remove those entries (and any '*') from NO_PROXY"));
  }
  return checks;
}

int printDoctorReport(const std::vector<DoctorCheck> &checks, bool json) {
  bool anyFailed = std::any_of(checks.begin(), checks.end(),
                               [](const auto &c) { return c.outcome == Outcome::kFail; });
  auto escape = [](const std::string &text) {
    std::string out;
    for (char c : text) {
      if (c == '"' || c == '\\') out += '\\';
      if (static_cast<unsigned char>(c) < 0x20) {
        out += ' ';
        continue;
      }
      out += c;
    }
    return out;
  };
  if (json) {
    std::cout << "{\"ok\": " << (anyFailed ? "false" : "true") << ", \"checks\": [";
    for (std::size_t i = 0; i < checks.size(); ++i) {
      const auto &c = checks[i];
      const char *outcome = c.outcome == Outcome::kOk     ? "ok"
                            : c.outcome == Outcome::kFail ? "fail"
                                                          : "skipped";
      std::cout << (i ? ", " : "") << "{\"name\": \"" << escape(c.name) << "\", \"outcome\": \""
                << outcome << "\", \"detail\": \"" << escape(c.detail) << "\"";
      if (!c.fix.empty()) std::cout << ", \"fix\": \"" << escape(c.fix) << "\"";
      std::cout << "}";
    }
    std::cout << "]}\n";
  } else {
    for (const auto &c : checks) {
      const char *mark = c.outcome == Outcome::kOk     ? "ok  "
                         : c.outcome == Outcome::kFail ? "FAIL"
                                                       : "skip";
      std::cout << mark << "  " << c.name << ": " << c.detail << "\n";
      if (!c.fix.empty()) std::cout << "      fix: " << c.fix << "\n";
    }
    std::cout << (anyFailed ? "something is wrong: see the fixes above\n" : "all checks passed\n");
  }
  return anyFailed ? 1 : 0;
}

} // namespace regcache::app
