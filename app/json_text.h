#pragma once
// JSON output of the operator commands (--json): one document on stdout, for jq and scripts.
#include <string>
#include <string_view>

namespace regcache::app {

// `text` as a JSON string, quotes included; control and non-ASCII bytes are \u-escaped, so
// names read from the index (which came from requests) cannot break the document.
std::string jsonText(std::string_view text);

} // namespace regcache::app
