#pragma once
// A small, strict XML reader for what an S3 endpoint answers: elements, attributes (skipped),
// character data with the five predefined entities and numeric references, comments and the
// <?xml?> declaration. No DTD, no CDATA, no processing instructions elsewhere: anything else is
// an error, as are mismatched tags and text outside the root. Bounded in depth, element count
// and text size, so a hostile endpoint's answer cannot make it recurse or allocate without end
// (the caller bounds the document's size).
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace regcache::cache::s3 {

struct XmlLimits {
  std::size_t maxDepth = 8;
  std::size_t maxElements = 20000; // a ListObjectsV2 page of 1000 keys holds ~7000
  std::size_t maxTextBytes = 4096; // per element
};

struct XmlElement {
  std::string name; // as written, with any namespace prefix
  std::string text; // decoded character data directly inside (not the children's)
  std::vector<XmlElement> children;

  // The first child called `name`, or nullptr.
  const XmlElement *child(std::string_view childName) const;
  // Its text, or "" when there is no such child.
  std::string_view childText(std::string_view childName) const;
};

// The root element of `document`; kUpstream with a reason when it is not well-formed or exceeds
// `limits`.
Result<XmlElement> parseXml(std::string_view document, const XmlLimits &limits = {});

} // namespace regcache::cache::s3
