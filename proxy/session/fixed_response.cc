#include "proxy/session/fixed_response.h"

#include "proxy/handler_services.h"

namespace regcache::proxy {

FixedResponse::FixedResponse(ClientSide &client, const http::RequestHead &request, std::string host,
                             int status, http::Headers headers, std::string body, std::string note,
                             bool keepAlive)
    : client_(client), status_(status), headers_(std::move(headers)), body_(std::move(body)),
      head_(request.method == "HEAD"),
      keepAlive_(keepAlive && request.keepAlive && !request.chunked &&
                 request.contentLength.value_or(0) == 0) {
  record_ = startAccessRecord(client_, request.method, std::move(host), request.target);
  record_.note = std::move(note);
}

void FixedResponse::start() {
  http::ResponseHead head;
  head.status = status_;
  head.reason = std::string(http::reasonPhrase(status_));
  head.headers = std::move(headers_);
  head.headers.set("Content-Length", std::to_string(body_.size()));
  if (!keepAlive_) head.headers.set("Connection", "close");
  std::string serialized = http::serializeResponseHead(head);
  evbuffer *out = client_.clientOutput();
  evbuffer_add(out, serialized.data(), serialized.size());
  if (!head_) evbuffer_add(out, body_.data(), body_.size());
  record_.status = status_;
  record_.bytesSent = head_ ? 0 : body_.size();
  completeRequest(client_.services().metrics(), record_);
  client_.onResponseComplete(keepAlive_);
}

std::string ociErrorJson(const std::string &code, const std::string &message) {
  // Both strings are the proxy's own constants: no escaping needed.
  return R"({"errors":[{"code":")" + code + R"(","message":")" + message + R"(","detail":null}]})" +
         "\n";
}

} // namespace regcache::proxy
