// The signer against the published vectors: the aws-sig-v4-test-suite cases (AKIDEXAMPLE,
// service "service") and the S3 API reference's "Examples: Signature Calculations"
// (AKIAIOSFODNN7EXAMPLE, examplebucket).
#include <catch2/catch.hpp>

#include "base/sha256.h"
#include "cache/s3/sigv4.h"

using namespace regcache::cache::s3;

namespace {

const S3Credentials kSuiteKey{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
const SigningScope kSuiteScope{"us-east-1", "service"};
constexpr const char *kSuiteDate = "20150830T123600Z";

const S3Credentials kS3Key{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
const SigningScope kS3Scope{"us-east-1", "s3"};
constexpr const char *kS3Date = "20130524T000000Z";

SignableRequest suiteRequest(std::string method, Fields query = {}) {
  SignableRequest request;
  request.method = std::move(method);
  request.path = "/";
  request.query = std::move(query);
  request.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", kSuiteDate}};
  request.payloadHash = std::string(kEmptyPayloadHash);
  return request;
}

std::string signatureOf(const std::string &authorizationValue) {
  return authorizationValue.substr(authorizationValue.rfind('=') + 1);
}

SignableRequest s3Request(std::string method, std::string path, Fields query, Fields extra,
                          std::string payloadHash) {
  SignableRequest request;
  request.method = std::move(method);
  request.path = std::move(path);
  request.query = std::move(query);
  request.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
                     {"x-amz-date", kS3Date},
                     {"x-amz-content-sha256", payloadHash}};
  for (auto &field : extra)
    request.headers.push_back(std::move(field));
  request.payloadHash = std::move(payloadHash);
  return request;
}

} // namespace

TEST_CASE("sigv4: get-vanilla", "[s3][sigv4]") {
  auto request = suiteRequest("GET");
  CHECK(canonicalRequest(request) == "GET\n/\n\nhost:example.amazonaws.com\n"
                                     "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" +
                                         std::string(kEmptyPayloadHash));
  CHECK(authorization(kSuiteKey, kSuiteDate, kSuiteScope, request) ==
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST_CASE("sigv4: get-vanilla-query-order-key-case sorts the query by name", "[s3][sigv4]") {
  auto request = suiteRequest("GET", {{"Param2", "value2"}, {"Param1", "value1"}});
  std::string canonical = canonicalRequest(request);
  CHECK(canonical.substr(0, canonical.find("host")) == "GET\n/\nParam1=value1&Param2=value2\n");
  CHECK(regcache::sha256Hex(canonical) ==
        "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0");
  CHECK(signatureOf(authorization(kSuiteKey, kSuiteDate, kSuiteScope, request)) ==
        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST_CASE("sigv4: get-vanilla-query-order-value sorts equal names by value", "[s3][sigv4]") {
  auto request = suiteRequest("GET", {{"Param1", "value2"}, {"Param1", "value1"}});
  CHECK(signatureOf(authorization(kSuiteKey, kSuiteDate, kSuiteScope, request)) ==
        "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694");
}

TEST_CASE("sigv4: get-unreserved keeps unreserved characters", "[s3][sigv4]") {
  auto request = suiteRequest("GET");
  request.path = "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  CHECK(signatureOf(authorization(kSuiteKey, kSuiteDate, kSuiteScope, request)) ==
        "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f");
}

TEST_CASE("sigv4: post-x-www-form-urlencoded signs the body's hash", "[s3][sigv4]") {
  auto request = suiteRequest("POST");
  request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  request.payloadHash = regcache::sha256Hex("Param1=value1");
  CHECK(request.payloadHash == "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
  std::string canonical = canonicalRequest(request);
  CHECK(stringToSign(kSuiteDate, kSuiteScope, canonical) ==
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
        "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281");
  CHECK(authorization(kSuiteKey, kSuiteDate, kSuiteScope, request) ==
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, "
        "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}

TEST_CASE("sigv4: S3 example, GET object with a Range", "[s3][sigv4]") {
  auto request =
      s3Request("GET", "/test.txt", {}, {{"Range", "bytes=0-9"}}, std::string(kEmptyPayloadHash));
  CHECK(stringToSign(kS3Date, kS3Scope, canonicalRequest(request)) ==
        "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
        "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  CHECK(authorization(kS3Key, kS3Date, kS3Scope, request) ==
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST_CASE("sigv4: S3 example, PUT object (a '$' in the key is encoded once)", "[s3][sigv4]") {
  std::string body = "Welcome to Amazon S3.";
  std::string hash = regcache::sha256Hex(body);
  CHECK(hash == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  auto request = s3Request(
      "PUT", "/test$file.text", {},
      {{"Date", "Fri, 24 May 2013 00:00:00 GMT"}, {"x-amz-storage-class", "REDUCED_REDUNDANCY"}},
      hash);
  CHECK(canonicalRequest(request).substr(0, 21) == "PUT\n/test%24file.text");
  CHECK(signatureOf(authorization(kS3Key, kS3Date, kS3Scope, request)) ==
        "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST_CASE("sigv4: S3 example, GET bucket lifecycle (a name with no value)", "[s3][sigv4]") {
  auto request = s3Request("GET", "/", {{"lifecycle", ""}}, {}, std::string(kEmptyPayloadHash));
  CHECK(signatureOf(authorization(kS3Key, kS3Date, kS3Scope, request)) ==
        "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST_CASE("sigv4: S3 example, list objects", "[s3][sigv4]") {
  auto request = s3Request("GET", "/", {{"prefix", "J"}, {"max-keys", "2"}}, {},
                           std::string(kEmptyPayloadHash));
  CHECK(signatureOf(authorization(kS3Key, kS3Date, kS3Scope, request)) ==
        "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST_CASE("sigv4: encoding, header canonicalization and signS3's headers", "[s3][sigv4]") {
  CHECK(uriEncode("a b/c+d=é", false) == "a%20b%2Fc%2Bd%3D%C3%A9");
  CHECK(uriEncode("/bucket/blobs/sha256/ab", true) == "/bucket/blobs/sha256/ab");
  CHECK(amzDate(std::chrono::system_clock::from_time_t(1440938160)) == kSuiteDate);
  SignableRequest request;
  request.method = "GET";
  request.path = "/";
  request.headers = {{"Host", "h"}, {"My-Header1", "  a   b  "}, {"my-header1", "c"}};
  request.payloadHash = std::string(kUnsignedPayload);
  CHECK(canonicalRequest(request) ==
        "GET\n/\n\nhost:h\nmy-header1:a b,c\n\nhost;my-header1\nUNSIGNED-PAYLOAD");
  signS3(request, {"AK", "SK", "TOKEN"}, "eu-west-1", std::chrono::system_clock::from_time_t(0));
  auto has = [&](const std::string &name) {
    for (const auto &field : request.headers)
      if (field.first == name) return true;
    return false;
  };
  CHECK(has("x-amz-content-sha256"));
  CHECK(has("x-amz-date"));
  CHECK(has("x-amz-security-token"));
  REQUIRE(has("Authorization"));
  CHECK(request.headers.back().second.find("/19700101/eu-west-1/s3/aws4_request") !=
        std::string::npos);
  CHECK(request.headers.back().second.find("x-amz-security-token") != std::string::npos);
}
