#include "app/s3_options.h"

#include <cstdlib>
#include <stdexcept>

#include "app/units.h"
#include "base/private_file.h"
#include "proxy/http/target.h"

namespace regcache::app {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

bool validBucket(std::string_view bucket) {
  if (bucket.size() < 3 || bucket.size() > 63) return false;
  for (char c : bucket) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (!ok) return false;
  }
  return bucket.front() != '-' && bucket.front() != '.' && bucket.back() != '-' &&
         bucket.back() != '.';
}

// A prefix part may hold what a key may, minus what would confuse a listing or a path.
bool validPrefixPart(std::string_view part) {
  if (part.empty() || part == "." || part == "..") return false;
  for (unsigned char c : part) {
    if (c < 0x21 || c == 0x7f || c == '\\' || c == '?' || c == '#' || c == '%') return false;
  }
  return true;
}

} // namespace

void addS3Flags(CLI::App &command, S3Flags &flags, bool storeRequired) {
  auto *store = command.add_option("--store", flags.store,
                                   "Share blobs in an S3-API bucket: s3://BUCKET[/PREFIX]");
  if (storeRequired) store->required();
  command.add_option("--s3-endpoint", flags.endpoint,
                     "The S3 endpoint, https://HOST[:PORT] (http:// needs --s3-allow-plain-http)");
  command.add_option("--s3-region", flags.region, "The region requests are signed for")
      ->capture_default_str();
  command.add_option("--s3-credentials-file", flags.credentialsFile,
                     "Bucket keys (mode 0600; default: $AWS_ACCESS_KEY_ID and "
                     "$AWS_SECRET_ACCESS_KEY)");
  command.add_flag("--s3-virtual-host-style", flags.virtualHostStyle,
                   "Address the bucket as BUCKET.HOST rather than HOST/BUCKET");
  command.add_flag("--s3-allow-plain-http", flags.allowPlainHttp,
                   "Allow an http:// endpoint (a loopback or private network only)");
  command.add_option("--s3-part-size", flags.partSize, "Multipart part size, 5MiB..64MiB")
      ->capture_default_str();
}

S3Location parseS3Url(std::string_view url) {
  constexpr std::string_view scheme = "s3://";
  if (url.substr(0, scheme.size()) != scheme) {
    throw std::invalid_argument("--store must be s3://BUCKET[/PREFIX], not '" + std::string(url) +
                                "'");
  }
  std::string_view rest = url.substr(scheme.size());
  while (!rest.empty() && rest.back() == '/')
    rest.remove_suffix(1);
  S3Location location;
  auto slash = rest.find('/');
  location.bucket = std::string(rest.substr(0, slash));
  if (!validBucket(location.bucket)) {
    throw std::invalid_argument("bad bucket name '" + location.bucket +
                                "' (3..63 of a-z, 0-9, '-' and '.')");
  }
  if (slash == std::string_view::npos) return location;
  std::string_view prefix = rest.substr(slash + 1);
  for (std::string_view left = prefix; !left.empty();) {
    auto end = left.find('/');
    if (!validPrefixPart(left.substr(0, end))) {
      throw std::invalid_argument("bad prefix '" + std::string(prefix) + "' in --store");
    }
    left = end == std::string_view::npos ? std::string_view() : left.substr(end + 1);
  }
  location.prefix = std::string(prefix);
  return location;
}

cache::s3::S3Credentials readS3CredentialsFile(const std::filesystem::path &path) {
  auto text = readPrivateFile(path);
  if (!text.ok()) throw std::runtime_error("--s3-credentials-file: " + text.failure().detail);
  cache::s3::S3Credentials credentials;
  std::vector<std::string> bare;
  std::string_view rest = text.value();
  bool inDefault = true; // keys before any section count as [default]
  while (!rest.empty()) {
    auto end = rest.find('\n');
    std::string_view line = trim(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      inDefault = line == "[default]";
      continue;
    }
    auto equals = line.find('=');
    if (equals == std::string_view::npos) {
      bare.emplace_back(line);
      continue;
    }
    if (!inDefault) continue;
    std::string_view key = trim(line.substr(0, equals));
    std::string value(trim(line.substr(equals + 1)));
    if (key == "aws_access_key_id") credentials.accessKeyId = value;
    if (key == "aws_secret_access_key") credentials.secretAccessKey = value;
    if (key == "aws_session_token") credentials.sessionToken = value;
  }
  if (credentials.accessKeyId.empty() && bare.size() == 2) {
    credentials.accessKeyId = bare[0];
    credentials.secretAccessKey = bare[1];
  }
  if (credentials.accessKeyId.empty() || credentials.secretAccessKey.empty()) {
    throw std::runtime_error("--s3-credentials-file " + path.string() +
                             ": no aws_access_key_id and aws_secret_access_key in [default]");
  }
  return credentials;
}

std::optional<cache::s3::S3StoreOptions>
resolveS3Options(const S3Flags &flags, const std::vector<std::filesystem::path> &upstreamCaFiles,
                 const std::filesystem::path &spoolDir) {
  if (flags.store.empty()) return std::nullopt;
  S3Location location = parseS3Url(flags.store);
  cache::s3::S3StoreOptions options;
  options.bucket = location.bucket;
  options.prefix = location.prefix;
  if (flags.endpoint.empty()) throw std::invalid_argument("--store s3:// needs --s3-endpoint");
  auto url = proxy::http::parseAbsoluteUrl(flags.endpoint);
  if (!url.ok() || (url->scheme != "https" && url->scheme != "http") ||
      (url->pathAndQuery != "/" && !url->pathAndQuery.empty())) {
    throw std::invalid_argument("--s3-endpoint must be http(s)://HOST[:PORT], not '" +
                                flags.endpoint + "'");
  }
  if (url->scheme == "http" && !flags.allowPlainHttp) {
    throw std::invalid_argument("--s3-endpoint " + flags.endpoint +
                                " is plain http: add --s3-allow-plain-http if you mean it");
  }
  options.endpoint =
      url->scheme + "://" +
      proxy::http::formatAuthority(url->authority, url->scheme == "https" ? 443 : 80);
  options.allowPlainHttp = flags.allowPlainHttp;
  if (flags.region.empty()) throw std::invalid_argument("--s3-region must not be empty");
  options.region = flags.region;
  options.pathStyle = !flags.virtualHostStyle;
  options.partSize = parseSize(flags.partSize);
  if (options.partSize < cache::s3::kMinPartSize || options.partSize > cache::s3::kMaxPartSize) {
    throw std::invalid_argument("--s3-part-size must be 5MiB..64MiB");
  }
  options.caFiles = upstreamCaFiles;
  options.spoolDir = spoolDir;
  if (!flags.credentialsFile.empty()) {
    options.credentials = readS3CredentialsFile(flags.credentialsFile);
  } else {
    const char *id = std::getenv("AWS_ACCESS_KEY_ID");
    const char *secret = std::getenv("AWS_SECRET_ACCESS_KEY");
    const char *token = std::getenv("AWS_SESSION_TOKEN");
    if (id == nullptr || secret == nullptr || *id == '\0' || *secret == '\0') {
      throw std::runtime_error("--store s3:// needs --s3-credentials-file or "
                               "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
    }
    options.credentials = {id, secret, token != nullptr ? token : ""};
  }
  return options;
}

} // namespace regcache::app
