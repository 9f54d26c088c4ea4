#include "ca/authority.h"

#include <fcntl.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

#include "ca/x509_util.h"

namespace regcache::ca {
namespace fs = std::filesystem;
namespace {

constexpr const char *kFirstGeneration = "gen-0001";

// Writes `content` to `path` with `mode`, atomically: a temp file, fsync, then rename.
Result<void> writeFileAtomically(const fs::path &path, const std::string &content, mode_t mode) {
  fs::path temp = path;
  temp += ".tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return fail(Error::kIo, "cannot write " + temp.string());
  ::fchmod(fd, mode);
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
    ::unlink(temp.c_str());
    return fail(Error::kIo, "cannot write " + path.string());
  }
  return {};
}

Result<std::string> readFile(const fs::path &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Error::kNotFound, "cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string keyToPem(EVP_PKEY *key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char *data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

Result<X509Ptr> buildRoot(EVP_PKEY *key, const Clock &clock, const AuthorityOptions &options) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  if (auto r = setRandomSerial(cert.get()); !r.ok()) return r.failure();
  X509_NAME *name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char *>("regcache"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char *>(options.commonName.c_str()),
                             -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  auto now = clock.now();
  setValidity(cert.get(), now - std::chrono::hours(1), now + options.rootValidity);
  X509_set_pubkey(cert.get(), key);
  // No pathlen constraint: rotation puts a cross-signed intermediate between an old root and
  // the leaves signed by the new one.
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                            std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                            std::pair{NID_subject_key_identifier, "hash"}}) {
    if (auto r = addExtension(cert.get(), cert.get(), nid, value); !r.ok()) return r.failure();
  }
  if (X509_sign(cert.get(), key, EVP_sha256()) == 0) {
    return fail(Error::kCrypto, "cannot sign the root: " + opensslErrors());
  }
  return cert;
}

std::string formatTime(Clock::TimePoint t) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return buf;
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

std::string toPem(X509 *cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char *data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

Result<std::shared_ptr<const Authority>> Authority::load(const fs::path &dir) {
  fs::path generation = dir / kFirstGeneration;
  fs::path certPath = generation / "root.crt";
  fs::path keyPath = generation / "root.key";
  std::error_code ec;
  if (!fs::exists(certPath, ec) || !fs::exists(keyPath, ec)) {
    return fail(Error::kNotFound, "no CA in " + dir.string());
  }
  struct stat st {};
  if (::stat(keyPath.c_str(), &st) != 0) return fail(Error::kIo, "cannot stat " + keyPath.string());
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(st.st_mode & 0777));
    return fail(Error::kPolicy, keyPath.string() + " is readable by group or others (mode " + mode +
                                    "); run chmod 600 on it");
  }
  auto certPem = readFile(certPath);
  auto keyPem = readFile(keyPath);
  if (!certPem.ok()) return certPem.failure();
  if (!keyPem.ok()) return keyPem.failure();

  std::shared_ptr<Authority> authority(new Authority());
  authority->dir_ = dir;
  BioPtr certBio(BIO_new_mem_buf(certPem->data(), static_cast<int>(certPem->size())));
  authority->root_.reset(PEM_read_bio_X509(certBio.get(), nullptr, nullptr, nullptr));
  BioPtr keyBio(BIO_new_mem_buf(keyPem->data(), static_cast<int>(keyPem->size())));
  authority->key_.reset(PEM_read_bio_PrivateKey(keyBio.get(), nullptr, nullptr, nullptr));
  if (!authority->root_ || !authority->key_) {
    return fail(Error::kInvalidInput,
                "corrupt CA files in " + generation.string() + ": " + opensslErrors());
  }
  if (X509_check_private_key(authority->root_.get(), authority->key_.get()) != 1) {
    return fail(Error::kInvalidInput, "root.key does not match root.crt in " + generation.string());
  }
  return std::shared_ptr<const Authority>(std::move(authority));
}

Result<std::shared_ptr<const Authority>> Authority::create(const fs::path &dir, const Clock &clock,
                                                           const AuthorityOptions &options) {
  std::error_code ec;
  fs::path generation = dir / kFirstGeneration;
  if (fs::exists(generation / "root.crt", ec) || fs::exists(generation / "root.key", ec)) {
    return fail(Error::kInvalidInput, "a CA already exists in " + dir.string());
  }
  fs::create_directories(generation, ec);
  if (ec) return fail(Error::kIo, "cannot create " + generation.string() + ": " + ec.message());
  fs::permissions(dir, fs::perms::owner_all, ec);
  fs::permissions(generation, fs::perms::owner_all, ec);

  auto key = generateP256Key();
  if (!key.ok()) return key.failure();
  auto root = buildRoot(key->get(), clock, options);
  if (!root.ok()) return root.failure();

  // The key first: a root.crt without its key is never left behind.
  if (auto r = writeFileAtomically(generation / "root.key", keyToPem(key->get()), 0600); !r.ok()) {
    return r.failure();
  }
  if (auto r = writeFileAtomically(generation / "root.crt", toPem(root->get()), 0644); !r.ok()) {
    return r.failure();
  }
  if (auto r = writeFileAtomically(generation / "state", "active\n", 0644); !r.ok()) {
    return r.failure();
  }
  std::shared_ptr<Authority> authority(new Authority());
  authority->dir_ = dir;
  authority->root_ = std::move(root.value());
  authority->key_ = std::move(key.value());
  return std::shared_ptr<const Authority>(std::move(authority));
}

Result<std::shared_ptr<const Authority>>
Authority::loadOrCreate(const fs::path &dir, const Clock &clock, const AuthorityOptions &options) {
  auto loaded = load(dir);
  if (loaded.ok() || loaded.failure().code != Error::kNotFound) return loaded;
  return create(dir, clock, options);
}

std::string Authority::bundlePem() const { return toPem(root_.get()); }

std::string Authority::describe() const {
  char subject[256];
  X509_NAME_oneline(X509_get_subject_name(root_.get()), subject, sizeof subject);
  std::string out;
  out += std::string(kFirstGeneration) + "  active\n";
  out += "  subject:     " + std::string(subject) + "\n";
  out += "  sha256:      " + fingerprintSha256(root_.get()) + "\n";
  out += "  not before:  " + formatTime(toTimePoint(X509_get0_notBefore(root_.get()))) + "\n";
  out += "  not after:   " + formatTime(toTimePoint(X509_get0_notAfter(root_.get()))) + "\n";
  out += "  directory:   " + (dir_ / kFirstGeneration).string() + "\n";
  return out;
}

} // namespace regcache::ca
