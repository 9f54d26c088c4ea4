#include "recording_sinks.h"

namespace regcache::test {

void RequestRecorder::onRequestHead(proxy::http::RequestHead &&head) {
  events.push_back("head " + head.method + " " + head.target);
  heads.push_back(std::move(head));
}

void RequestRecorder::onRequestBody(std::string_view data) {
  events.push_back("body " + std::string(data));
}

void ResponseRecorder::onResponseHead(proxy::http::ResponseHead &&head) {
  events.push_back("head " + std::to_string(head.status));
  heads.push_back(std::move(head));
}

void ResponseRecorder::onResponseBody(std::string_view data) {
  events.push_back("body " + std::string(data));
}

std::vector<std::string> mergeBodies(const std::vector<std::string> &events) {
  std::vector<std::string> out;
  for (const auto &e : events) {
    if (e.rfind("body ", 0) == 0 && !out.empty() && out.back().rfind("body ", 0) == 0) {
      out.back() += e.substr(5);
    } else {
      out.push_back(e);
    }
  }
  return out;
}

} // namespace regcache::test
