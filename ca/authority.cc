#include "ca/authority.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "base/private_file.h"
#include "base/unique_fd.h"
#include "ca/ca_files.h"
#include "ca/root_builder.h"
#include "ca/x509_util.h"

namespace regcache::ca {
namespace fs = std::filesystem;
namespace {

std::string generationDirName(int number) {
  char name[16];
  std::snprintf(name, sizeof name, "gen-%04d", number);
  return name;
}

// Generation numbers present in `dir`, ascending.
std::vector<int> listGenerations(const fs::path &dir) {
  std::vector<int> numbers;
  std::error_code ec;
  for (const auto &entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.size() == 8 && name.rfind("gen-", 0) == 0 &&
        name.find_first_not_of("0123456789", 4) == std::string::npos &&
        fs::exists(entry.path() / "root.crt")) {
      numbers.push_back(std::stoi(name.substr(4)));
    }
  }
  std::sort(numbers.begin(), numbers.end());
  return numbers;
}

Result<Generation> loadGeneration(const fs::path &dir, int number) {
  fs::path gen = dir / generationDirName(number);
  Generation g;
  if (auto mode = checkPrivateMode(gen / "root.key"); !mode.ok()) return mode.failure();
  auto certPem = readFile(gen / "root.crt");
  auto keyPem = readFile(gen / "root.key");
  auto timesText = readFile(gen / "times");
  if (!certPem.ok()) return certPem.failure();
  if (!keyPem.ok()) return keyPem.failure();
  if (!timesText.ok()) return timesText.failure();
  auto root = certFromPem(*certPem, (gen / "root.crt").string());
  auto key = keyFromPem(*keyPem, (gen / "root.key").string());
  auto times = parseTimes(number, *timesText);
  if (!root.ok()) return root.failure();
  if (!key.ok()) return key.failure();
  if (!times.ok()) {
    return fail(Error::kInvalidInput, (gen / "times").string() + ": " + times.failure().detail);
  }
  if (X509_check_private_key(root->get(), key->get()) != 1) {
    return fail(Error::kInvalidInput, "root.key does not match root.crt in " + gen.string());
  }
  g.root = std::move(root.value());
  g.key = std::move(key.value());
  g.times = times.value();
  if (fs::exists(gen / "cross.crt")) {
    auto crossPem = readFile(gen / "cross.crt");
    if (!crossPem.ok()) return crossPem.failure();
    auto cross = certFromPem(*crossPem, (gen / "cross.crt").string());
    if (!cross.ok()) return cross.failure();
    g.cross = std::move(cross.value());
  }
  return g;
}

// Writes a whole generation into a temp directory, then renames it into place, so readers
// never see a generation without its key or times.
Result<void> writeGeneration(const fs::path &dir, int number, X509 *root, EVP_PKEY *key,
                             X509 *cross, const GenerationTimes &times) {
  fs::path final = dir / generationDirName(number);
  fs::path temp = dir / (generationDirName(number) + ".tmp");
  std::error_code ec;
  fs::remove_all(temp, ec);
  fs::create_directories(temp, ec);
  if (ec) return fail(Error::kIo, "cannot create " + temp.string() + ": " + ec.message());
  fs::permissions(temp, fs::perms::owner_all, ec);
  for (auto [name, content, mode] : {std::tuple{"root.key", keyToPem(key), mode_t{0600}},
                                     std::tuple{"root.crt", toPem(root), mode_t{0644}},
                                     std::tuple{"times", formatTimes(times), mode_t{0644}}}) {
    if (auto r = writeFileAtomically(temp / name, content, mode); !r.ok()) return r;
  }
  if (cross != nullptr) {
    if (auto r = writeFileAtomically(temp / "cross.crt", toPem(cross), 0644); !r.ok()) return r;
  }
  fs::rename(temp, final, ec);
  if (ec) return fail(Error::kIo, "cannot move " + temp.string() + " into place: " + ec.message());
  return {};
}

// Holds an exclusive lock on <dir>/.lock for a rotation or a creation.
Result<UniqueFd> lockDirectory(const fs::path &dir) {
  UniqueFd fd(::open((dir / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd || ::flock(fd.get(), LOCK_EX) != 0) {
    return fail(Error::kIo, "cannot lock " + (dir / ".lock").string());
  }
  return fd;
}

std::vector<std::string> permittedDnsOf(X509 *root) {
  std::vector<std::string> names;
  auto *constraints = static_cast<NAME_CONSTRAINTS *>(
      X509_get_ext_d2i(root, NID_name_constraints, nullptr, nullptr));
  if (constraints == nullptr) return names;
  for (int i = 0; i < sk_GENERAL_SUBTREE_num(constraints->permittedSubtrees); ++i) {
    GENERAL_SUBTREE *subtree = sk_GENERAL_SUBTREE_value(constraints->permittedSubtrees, i);
    if (subtree->base->type != GEN_DNS) continue;
    const ASN1_IA5STRING *dns = subtree->base->d.dNSName;
    names.emplace_back(reinterpret_cast<const char *>(ASN1_STRING_get0_data(dns)),
                       static_cast<std::size_t>(ASN1_STRING_length(dns)));
  }
  NAME_CONSTRAINTS_free(constraints);
  return names;
}

} // namespace

std::string fingerprintSha256(X509 *cert) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  X509_digest(cert, EVP_sha256(), digest, &length);
  std::string out;
  char hex[4];
  for (unsigned int i = 0; i < length; ++i) {
    std::snprintf(hex, sizeof hex, i + 1 < length ? "%02X:" : "%02X", digest[i]);
    out += hex;
  }
  return out;
}

Result<std::shared_ptr<const Authority>> Authority::load(const fs::path &dir, const Clock &clock) {
  std::vector<int> numbers = listGenerations(dir);
  if (numbers.empty()) return fail(Error::kNotFound, "no CA in " + dir.string());
  std::shared_ptr<Authority> authority(new Authority());
  authority->dir_ = dir;
  for (int number : numbers) {
    auto generation = loadGeneration(dir, number);
    if (!generation.ok()) return generation.failure();
    authority->generations_.push_back(std::move(generation.value()));
  }
  authority->finish(clock.now());
  if (authority->generations_.at(authority->active_).state != RootState::kActive) {
    return fail(Error::kInvalidInput, "no active root in " + dir.string());
  }
  return std::shared_ptr<const Authority>(std::move(authority));
}

void Authority::finish(Clock::TimePoint now) {
  std::vector<GenerationTimes> times;
  for (const auto &g : generations_)
    times.push_back(g.times);
  std::vector<RootState> states = statesAt(times, now);
  for (std::size_t i = 0; i < generations_.size(); ++i) {
    generations_[i].state = states[i];
    if (states[i] == RootState::kActive) active_ = i;
  }
  nextTransition_ = nextTransitionAfter(times, now);

  chain_.clear();
  const Generation &active = generations_[active_];
  if (active.cross && active_ > 0 && generations_[active_ - 1].state != RootState::kRetired) {
    chain_.push_back(shareX509(active.cross.get()));
  }
  bundle_.clear();
  bundleChangedAt_ = Clock::TimePoint{};
  for (auto it = generations_.rbegin(); it != generations_.rend(); ++it) {
    bundleChangedAt_ = std::max(bundleChangedAt_, it->times.createdAt);
    if (it->state == RootState::kRetired) {
      bundleChangedAt_ = std::max(bundleChangedAt_, *it->times.retireAt);
      continue;
    }
    bundle_ += toPem(it->root.get());
  }
  permittedDns_ = permittedDnsOf(active.root.get());
  identity_ = fingerprintSha256(active.root.get()) + "|" +
              (chain_.empty() ? "" : fingerprintSha256(chain_[0].get())) + "|" + bundle_;
}

Result<std::shared_ptr<const Authority>> Authority::create(const fs::path &dir, const Clock &clock,
                                                           const AuthorityOptions &options) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(Error::kIo, "cannot create " + dir.string() + ": " + ec.message());
  fs::permissions(dir, fs::perms::owner_all, ec);
  auto lock = lockDirectory(dir);
  if (!lock.ok()) return lock.failure();
  if (!listGenerations(dir).empty()) {
    return fail(Error::kInvalidInput, "a CA already exists in " + dir.string());
  }
  auto key = generateP256Key();
  if (!key.ok()) return key.failure();
  auto root =
      buildRoot(key->get(),
                RootSpec{"regcache root CA G1", options.rootValidity, options.permittedDns}, clock);
  if (!root.ok()) return root.failure();
  GenerationTimes times{1, clock.now(), clock.now(), std::nullopt};
  if (auto r = writeGeneration(dir, 1, root->get(), key->get(), nullptr, times); !r.ok()) {
    return r.failure();
  }
  return load(dir, clock);
}

Result<std::shared_ptr<const Authority>>
Authority::loadOrCreate(const fs::path &dir, const Clock &clock, const AuthorityOptions &options) {
  auto loaded = load(dir, clock);
  if (loaded.ok() || loaded.failure().code != Error::kNotFound) return loaded;
  return create(dir, clock, options);
}

Result<int> Authority::rotate(const fs::path &dir, const Clock &clock,
                              const RotateOptions &options) {
  auto lock = lockDirectory(dir);
  if (!lock.ok()) return lock.failure();
  auto current = load(dir, clock);
  if (!current.ok()) return current.failure();
  const auto &generations = current.value()->generations();
  if (generations.back().state == RootState::kNext) {
    return fail(
        Error::kInvalidInput,
        "a rotation is already pending: " + generationDirName(generations.back().times.number) +
            " becomes active at " + formatUtc(generations.back().times.activateAt));
  }
  const Generation &active = generations.at(current.value()->active_);
  int number = generations.back().times.number + 1;
  auto now = clock.now();

  auto key = generateP256Key();
  if (!key.ok()) return key.failure();
  auto validity = std::chrono::duration_cast<std::chrono::hours>(
      toTimePoint(X509_get0_notAfter(active.root.get())) -
      toTimePoint(X509_get0_notBefore(active.root.get())));
  RootSpec spec{"regcache root CA G" + std::to_string(number), validity,
                permittedDnsOf(active.root.get())};
  auto root = buildRoot(key->get(), spec, clock);
  if (!root.ok()) return root.failure();
  auto cross = buildCrossCertificate(root->get(), active.root.get(), active.key.get(), clock);
  if (!cross.ok()) return cross.failure();

  GenerationTimes times{number, now, options.emergency ? now : now + options.overlap, std::nullopt};
  // The current root stays trusted until every leaf it signed has expired. An emergency assumes
  // the CA directory was compromised: every older root is distrusted at once.
  std::vector<GenerationTimes> updated;
  for (const auto &g : generations) {
    GenerationTimes t = g.times;
    if (options.emergency) {
      if (!t.retireAt || *t.retireAt > now) t.retireAt = now;
    } else if (g.times.number == active.times.number) {
      t.retireAt = times.activateAt + options.leafValidity;
    } else {
      continue;
    }
    updated.push_back(t);
  }
  if (auto r = writeGeneration(dir, number, root->get(), key->get(), cross->get(), times);
      !r.ok()) {
    return r.failure();
  }
  for (const auto &t : updated) {
    fs::path path = dir / generationDirName(t.number) / "times";
    if (auto r = writeFileAtomically(path, formatTimes(t), 0644); !r.ok()) return r.failure();
  }
  return number;
}

bool Authority::permits(const std::string &host) const {
  if (permittedDns_.empty()) return true;
  for (const auto &name : permittedDns_) {
    // RFC 5280 4.2.1.10: "example.com" covers it and its subdomains, ".example.com" only
    // subdomains.
    if (!name.empty() && name.front() == '.') {
      if (host.size() > name.size() &&
          host.compare(host.size() - name.size(), name.size(), name) == 0) {
        return true;
      }
    } else if (host == name || (host.size() > name.size() &&
                                host.compare(host.size() - name.size(), name.size(), name) == 0 &&
                                host[host.size() - name.size() - 1] == '.')) {
      return true;
    }
  }
  return false;
}

std::string Authority::describe() const {
  std::string out;
  for (auto it = generations_.rbegin(); it != generations_.rend(); ++it) {
    char subject[256];
    X509_NAME_oneline(X509_get_subject_name(it->root.get()), subject, sizeof subject);
    out += generationDirName(it->times.number) + "  " + stateName(it->state) + "\n";
    out += "  subject:      " + std::string(subject) + "\n";
    out += "  sha256:       " + fingerprintSha256(it->root.get()) + "\n";
    out += "  valid:        " + formatUtc(toTimePoint(X509_get0_notBefore(it->root.get()))) +
           " to " + formatUtc(toTimePoint(X509_get0_notAfter(it->root.get()))) + "\n";
    out += "  created:      " + formatUtc(it->times.createdAt) + "\n";
    out += "  signs from:   " + formatUtc(it->times.activateAt) + "\n";
    if (it->times.retireAt) out += "  retired from: " + formatUtc(*it->times.retireAt) + "\n";
    auto constraints = permittedDnsOf(it->root.get());
    if (!constraints.empty()) {
      out += "  permits only:";
      for (const auto &name : constraints)
        out += " " + name;
      out += "\n";
    }
  }
  out += nextTransition_ ? "next transition: " + formatUtc(*nextTransition_) + "\n"
                         : "next transition: none scheduled\n";
  out += "directory: " + dir_.string() + "\n";
  return out;
}

} // namespace regcache::ca
