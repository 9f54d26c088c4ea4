#pragma once
// JSON text written by regcache itself: the operator commands' --json documents, the JSON access
// log and /status.json. Without a JSON library: the writers build flat documents by hand.
#include <string>
#include <string_view>

namespace regcache {

// `text` as a JSON string, quotes included; control and non-ASCII bytes are \u-escaped, so
// whatever a client sent (paths, names that reached the index) cannot break the document or
// split one access line in two.
std::string jsonText(std::string_view text);

} // namespace regcache
