// Feeds arbitrary bytes to the S3 answer parsers (cache/s3/xml.h, s3_xml.h): an object store's
// answers are as hostile as any upstream's. They must not crash, recurse without bound or
// return more than the input could hold.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cache/s3/s3_xml.h"
#include "cache/s3/xml.h"

using namespace regcache::cache::s3;

namespace {

std::size_t countElements(const XmlElement &element, std::size_t depth) {
  if (depth > XmlLimits{}.maxDepth) std::abort();
  std::size_t count = 1;
  for (const auto &child : element.children)
    count += countElements(child, depth + 1);
  return count;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view input(reinterpret_cast<const char *>(data), size);
  if (auto root = parseXml(input); root.ok()) {
    if (countElements(*root, 1) > size) std::abort(); // every element takes input bytes
  }
  (void)parseS3Error(input);
  (void)parseUploadId(input);
  if (auto page = parseListObjectsV2(input); page.ok()) {
    if (page->objects.size() > size) std::abort();
  }
  if (auto page = parseListMultipartUploads(input); page.ok()) {
    if (page->uploads.size() > size) std::abort();
  }
  (void)parseIsoTime(input);
  (void)parseHttpDate(input);
  return 0;
}
