#include "cache/s3/sigv4.h"

#include <openssl/hmac.h>

#include <algorithm>
#include <ctime>

#include "base/sha256.h"

namespace regcache::cache::s3 {
namespace {

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// A header value as SigV4 signs it: no blanks around it, runs of blanks inside made one space.
std::string canonicalValue(std::string_view value) {
  std::string out;
  bool blank = false;
  for (char c : value) {
    if (c == ' ' || c == '\t') {
      blank = true;
      continue;
    }
    if (blank && !out.empty()) out += ' ';
    blank = false;
    out += c;
  }
  return out;
}

std::string hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char *>(data.data()), data.size(), out, &length);
  return std::string(reinterpret_cast<const char *>(out), length);
}

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string credentialScope(std::string_view date, const SigningScope &scope) {
  return std::string(date.substr(0, 8)) + "/" + scope.region + "/" + scope.service +
         "/aws4_request";
}

// Lowercased names, sorted, duplicates joined with ',' in the order they came.
Fields canonicalHeaders(const Fields &headers) {
  Fields sorted;
  for (const auto &[name, value] : headers)
    sorted.emplace_back(lowercase(name), canonicalValue(value));
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto &a, const auto &b) { return a.first < b.first; });
  Fields joined;
  for (auto &[name, value] : sorted) {
    if (!joined.empty() && joined.back().first == name) {
      joined.back().second += "," + value;
    } else {
      joined.emplace_back(std::move(name), std::move(value));
    }
  }
  return joined;
}

std::string signedHeaderList(const Fields &canonical) {
  std::string list;
  for (const auto &[name, value] : canonical)
    list += (list.empty() ? "" : ";") + name;
  return list;
}

} // namespace

std::string uriEncode(std::string_view text, bool keepSlash) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (unreserved(c) || (keepSlash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out;
}

std::string amzDate(std::chrono::system_clock::time_point time) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[20];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &utc);
  return text;
}

std::string canonicalRequest(const SignableRequest &request) {
  Fields query;
  for (const auto &[name, value] : request.query)
    query.emplace_back(uriEncode(name, false), uriEncode(value, false));
  std::sort(query.begin(), query.end()); // by encoded name, then value: byte order
  std::string queryText;
  for (const auto &[name, value] : query)
    queryText += (queryText.empty() ? "" : "&") + name + "=" + value;
  Fields headers = canonicalHeaders(request.headers);
  std::string headerText;
  for (const auto &[name, value] : headers)
    headerText += name + ":" + value + "\n";
  return request.method + "\n" + uriEncode(request.path.empty() ? "/" : request.path, true) + "\n" +
         queryText + "\n" + headerText + "\n" + signedHeaderList(headers) + "\n" +
         request.payloadHash;
}

std::string stringToSign(std::string_view date, const SigningScope &scope,
                         std::string_view canonical) {
  return "AWS4-HMAC-SHA256\n" + std::string(date) + "\n" + credentialScope(date, scope) + "\n" +
         sha256Hex(canonical);
}

std::string signatureHex(std::string_view secretKey, std::string_view date,
                         const SigningScope &scope, std::string_view toSign) {
  std::string key = hmac("AWS4" + std::string(secretKey), date.substr(0, 8));
  key = hmac(key, scope.region);
  key = hmac(key, scope.service);
  key = hmac(key, "aws4_request");
  return hex(hmac(key, toSign));
}

std::string authorization(const S3Credentials &credentials, std::string_view date,
                          const SigningScope &scope, const SignableRequest &request) {
  std::string toSign = stringToSign(date, scope, canonicalRequest(request));
  return "AWS4-HMAC-SHA256 Credential=" + credentials.accessKeyId + "/" +
         credentialScope(date, scope) +
         ", SignedHeaders=" + signedHeaderList(canonicalHeaders(request.headers)) +
         ", Signature=" + signatureHex(credentials.secretAccessKey, date, scope, toSign);
}

void signS3(SignableRequest &request, const S3Credentials &credentials, std::string_view region,
            std::chrono::system_clock::time_point now) {
  std::string date = amzDate(now);
  request.headers.emplace_back("x-amz-date", date);
  request.headers.emplace_back("x-amz-content-sha256", request.payloadHash);
  if (!credentials.sessionToken.empty()) {
    request.headers.emplace_back("x-amz-security-token", credentials.sessionToken);
  }
  SigningScope scope{std::string(region), "s3"};
  request.headers.emplace_back("Authorization", authorization(credentials, date, scope, request));
}

} // namespace regcache::cache::s3
