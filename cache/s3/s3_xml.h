#pragma once
// What the store reads from S3's XML answers, and nothing more: an error's code, a new upload's
// id, and pages of ListObjectsV2 and ListMultipartUploads. Every field is checked (sizes are
// numbers, times are ISO 8601); an answer that is not what S3 sends is kUpstream.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace regcache::cache::s3 {

struct S3ErrorBody {
  std::string code; // "NoSuchKey", "SignatureDoesNotMatch", ...
  std::string message;
};
// The <Error> document in `body`, if it is one (also inside a 200: CompleteMultipartUpload
// reports late failures that way).
std::optional<S3ErrorBody> parseS3Error(std::string_view body);

// InitiateMultipartUploadResult's UploadId (not empty).
Result<std::string> parseUploadId(std::string_view body);

struct ListedObject {
  std::string key;
  std::uint64_t size = 0;
  std::chrono::system_clock::time_point lastModified{};
};
struct ObjectPage {
  std::vector<ListedObject> objects;
  bool truncated = false;
  std::string nextToken; // NextContinuationToken, when truncated
};
Result<ObjectPage> parseListObjectsV2(std::string_view body);

struct ListedUpload {
  std::string key;
  std::string uploadId;
  std::chrono::system_clock::time_point initiated{};
};
struct UploadPage {
  std::vector<ListedUpload> uploads;
  bool truncated = false;
  std::string nextKeyMarker;
  std::string nextUploadIdMarker;
};
Result<UploadPage> parseListMultipartUploads(std::string_view body);

// "2009-10-12T17:50:30.000Z" (fraction optional, Z required) as a UTC time point.
std::optional<std::chrono::system_clock::time_point> parseIsoTime(std::string_view text);
// An HTTP date, "Wed, 12 Oct 2009 17:50:00 GMT" (Last-Modified of HEAD).
std::optional<std::chrono::system_clock::time_point> parseHttpDate(std::string_view text);

} // namespace regcache::cache::s3
