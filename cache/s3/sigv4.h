#pragma once
// AWS Signature Version 4 (header form), by hand over OpenSSL's HMAC-SHA256: Debian 12 has no
// AWS C++ SDK. Pure functions: no I/O, no clock (the caller passes the time), so every step is
// checked against the published vectors (tests/unit/cache/s3/sigv4_test.cc).
#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cache/s3/s3_store_options.h"

namespace regcache::cache::s3 {

// The hash of no payload, and what a request sends when it does not sign its body.
inline constexpr std::string_view kEmptyPayloadHash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

using Fields = std::vector<std::pair<std::string, std::string>>;

struct SignableRequest {
  std::string method;
  std::string path;        // decoded ("/bucket/key with spaces"); encoded here once, '/' kept
  Fields query;            // decoded names and values, in any order
  Fields headers;          // every header that is signed, host and x-amz-date included
  std::string payloadHash; // lowercase hex, or kUnsignedPayload
};

struct SigningScope {
  std::string region;
  std::string service; // "s3"
};

// RFC 3986 unreserved characters stay, everything else is %XX with uppercase hex; '/' stays
// when `keepSlash` (paths), and is %2F otherwise (query names and values).
std::string uriEncode(std::string_view text, bool keepSlash);
// "20150830T123600Z" for `time` (UTC).
std::string amzDate(std::chrono::system_clock::time_point time);

// The steps, each visible so that a failing signature says which one differs.
std::string canonicalRequest(const SignableRequest &request);
// `date` is the x-amz-date value; its first 8 characters are the scope's day.
std::string stringToSign(std::string_view date, const SigningScope &scope,
                         std::string_view canonical);
std::string signatureHex(std::string_view secretKey, std::string_view date,
                         const SigningScope &scope, std::string_view toSign);
// The Authorization header's value for `request`, whose headers hold x-amz-date.
std::string authorization(const S3Credentials &credentials, std::string_view date,
                          const SigningScope &scope, const SignableRequest &request);

// Adds x-amz-date (from `now`), x-amz-content-sha256 (the payload hash, always: RGW refuses
// SigV4 without it), x-amz-security-token when the credentials have one, and then the
// Authorization header, to `request.headers`.
void signS3(SignableRequest &request, const S3Credentials &credentials, std::string_view region,
            std::chrono::system_clock::time_point now);

} // namespace regcache::cache::s3
