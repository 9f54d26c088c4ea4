#pragma once
// The one parser of the flags that name an S3-API blob store (--store s3://BUCKET[/PREFIX],
// --s3-*), shared by `serve` and `store gc`, so that both mean the same by them.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cache/s3/s3_store_options.h"

namespace regcache::app {

// The flags as given, before they are checked.
struct S3Flags {
  std::string store;    // --store: "s3://BUCKET[/PREFIX]"; empty: no shared store
  std::string endpoint; // --s3-endpoint: http(s)://HOST[:PORT]
  std::string region = "us-east-1";
  std::string credentialsFile;    // --s3-credentials-file (mode 0600); else AWS_* variables
  bool virtualHostStyle = false;  // --s3-virtual-host-style: BUCKET.HOST instead of HOST/BUCKET
  bool allowPlainHttp = false;    // --s3-allow-plain-http: the endpoint may be http://
  std::string partSize = "16MiB"; // --s3-part-size: 5MiB..64MiB
};

// Adds --store, --s3-endpoint, --s3-region, --s3-credentials-file, --s3-virtual-host-style,
// --s3-allow-plain-http and --s3-part-size to `command`, writing into `flags` (which must
// outlive the parse). `storeRequired`: --store must be given (store gc).
void addS3Flags(CLI::App &command, S3Flags &flags, bool storeRequired = false);

struct S3Location {
  std::string bucket;
  std::string prefix; // without leading or trailing '/'
};
// "s3://BUCKET" or "s3://BUCKET/PREFIX/PARTS". The bucket follows S3's naming rules (3..63
// of [a-z0-9.-]); the prefix has no empty, "." or ".." part. Throws std::invalid_argument.
S3Location parseS3Url(std::string_view url);

// Reads an AWS shared-credentials style file ([default] aws_access_key_id = ...,
// aws_secret_access_key = ..., optional aws_session_token), or a file of two lines (key id,
// secret). Refuses a file group or others may read. Throws std::runtime_error.
cache::s3::S3Credentials readS3CredentialsFile(const std::filesystem::path &path);

// The store's options from the flags: the file, else AWS_ACCESS_KEY_ID /
// AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN); the endpoint must be http(s)://HOST[:PORT] with
// no path, and http only with allowPlainHttp. nullopt when --store is empty. Throws
// std::invalid_argument (a bad value) or std::runtime_error (credentials).
std::optional<cache::s3::S3StoreOptions>
resolveS3Options(const S3Flags &flags, const std::vector<std::filesystem::path> &upstreamCaFiles,
                 const std::filesystem::path &spoolDir);

} // namespace regcache::app
