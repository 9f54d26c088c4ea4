#include "cache/s3/s3_xml.h"

#include <charconv>
#include <ctime>

#include "cache/s3/xml.h"

namespace regcache::cache::s3 {
namespace {

Failure unexpected(std::string_view what) {
  return fail(Error::kUpstream, "unexpected S3 answer: " + std::string(what));
}

Result<XmlElement> rootCalled(std::string_view body, std::string_view name) {
  auto root = parseXml(body);
  if (!root.ok()) return root.failure();
  if (root->name != name)
    return unexpected("<" + root->name + "> instead of <" + std::string(name) + ">");
  return root;
}

std::optional<std::uint64_t> number(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

bool flag(std::string_view text) { return text == "true"; }

int digits(std::string_view text, std::size_t at, std::size_t count, bool &ok) {
  int value = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    if (i >= text.size() || text[i] < '0' || text[i] > '9') {
      ok = false;
      return 0;
    }
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

std::optional<std::chrono::system_clock::time_point> fromUtc(std::tm utc) {
  // 1970..2200: a system_clock time point counts nanoseconds in 64 bits (about 1678..2262), so
  // a year outside would overflow it (found by fuzz_s3_xml).
  if (utc.tm_year < 70 || utc.tm_year > 300) return std::nullopt;
  if (utc.tm_mon < 0 || utc.tm_mon > 11 || utc.tm_mday < 1 || utc.tm_mday > 31 ||
      utc.tm_hour > 23 || utc.tm_min > 59 || utc.tm_sec > 60) {
    return std::nullopt;
  }
  std::time_t seconds = ::timegm(&utc);
  if (seconds == static_cast<std::time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(seconds);
}

} // namespace

std::optional<std::chrono::system_clock::time_point> parseIsoTime(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fff]Z
  if (text.size() < 20 || text.size() > 40 || text[4] != '-' || text[7] != '-' || text[10] != 'T' ||
      text[13] != ':' || text[16] != ':' || text.back() != 'Z') {
    return std::nullopt;
  }
  bool ok = true;
  std::tm utc{};
  utc.tm_year = digits(text, 0, 4, ok) - 1900;
  utc.tm_mon = digits(text, 5, 2, ok) - 1;
  utc.tm_mday = digits(text, 8, 2, ok);
  utc.tm_hour = digits(text, 11, 2, ok);
  utc.tm_min = digits(text, 14, 2, ok);
  utc.tm_sec = digits(text, 17, 2, ok);
  std::string_view rest = text.substr(19, text.size() - 20);
  if (!rest.empty()) {
    if (rest[0] != '.' || rest.size() < 2) return std::nullopt;
    digits(rest, 1, rest.size() - 1, ok);
  }
  if (!ok) return std::nullopt;
  return fromUtc(utc);
}

std::optional<std::chrono::system_clock::time_point> parseHttpDate(std::string_view text) {
  // "Wed, 12 Oct 2009 17:50:00 GMT"
  static constexpr std::string_view months = "JanFebMarAprMayJunJulAugSepOctNovDec";
  if (text.size() != 29 || text[3] != ',' || text.substr(26) != "GMT") return std::nullopt;
  bool ok = true;
  std::tm utc{};
  utc.tm_mday = digits(text, 5, 2, ok);
  auto month = months.find(text.substr(8, 3));
  if (month == std::string_view::npos || month % 3 != 0) return std::nullopt;
  utc.tm_mon = static_cast<int>(month / 3);
  utc.tm_year = digits(text, 12, 4, ok) - 1900;
  utc.tm_hour = digits(text, 17, 2, ok);
  utc.tm_min = digits(text, 20, 2, ok);
  utc.tm_sec = digits(text, 23, 2, ok);
  if (!ok) return std::nullopt;
  return fromUtc(utc);
}

std::optional<S3ErrorBody> parseS3Error(std::string_view body) {
  auto root = parseXml(body);
  if (!root.ok() || root->name != "Error") return std::nullopt;
  return S3ErrorBody{std::string(root->childText("Code")), std::string(root->childText("Message"))};
}

Result<std::string> parseUploadId(std::string_view body) {
  auto root = rootCalled(body, "InitiateMultipartUploadResult");
  if (!root.ok()) return root.failure();
  std::string id(root->childText("UploadId"));
  if (id.empty()) return unexpected("no UploadId");
  return id;
}

Result<ObjectPage> parseListObjectsV2(std::string_view body) {
  auto root = rootCalled(body, "ListBucketResult");
  if (!root.ok()) return root.failure();
  ObjectPage page;
  for (const auto &entry : root->children) {
    if (entry.name != "Contents") continue;
    ListedObject object;
    object.key = std::string(entry.childText("Key"));
    auto size = number(entry.childText("Size"));
    auto modified = parseIsoTime(entry.childText("LastModified"));
    if (object.key.empty() || !size || !modified)
      return unexpected("a listed object without key, size or time");
    object.size = *size;
    object.lastModified = *modified;
    page.objects.push_back(std::move(object));
  }
  page.truncated = flag(root->childText("IsTruncated"));
  page.nextToken = std::string(root->childText("NextContinuationToken"));
  if (page.truncated && page.nextToken.empty())
    return unexpected("truncated without a continuation token");
  return page;
}

Result<UploadPage> parseListMultipartUploads(std::string_view body) {
  auto root = rootCalled(body, "ListMultipartUploadsResult");
  if (!root.ok()) return root.failure();
  UploadPage page;
  for (const auto &entry : root->children) {
    if (entry.name != "Upload") continue;
    ListedUpload upload;
    upload.key = std::string(entry.childText("Key"));
    upload.uploadId = std::string(entry.childText("UploadId"));
    auto initiated = parseIsoTime(entry.childText("Initiated"));
    if (upload.key.empty() || upload.uploadId.empty() || !initiated) {
      return unexpected("a listed upload without key, id or time");
    }
    upload.initiated = *initiated;
    page.uploads.push_back(std::move(upload));
  }
  page.truncated = flag(root->childText("IsTruncated"));
  page.nextKeyMarker = std::string(root->childText("NextKeyMarker"));
  page.nextUploadIdMarker = std::string(root->childText("NextUploadIdMarker"));
  if (page.truncated && page.nextKeyMarker.empty() && page.nextUploadIdMarker.empty()) {
    return unexpected("truncated without markers");
  }
  return page;
}

} // namespace regcache::cache::s3
