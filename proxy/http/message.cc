#include "proxy/http/message.h"

#include <cstdio>

namespace regcache::proxy::http {
namespace {

void appendHeaders(std::string &out, const Headers &headers) {
  for (const auto &[name, value] : headers.entries()) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  out += "\r\n";
}

} // namespace

std::string serializeRequestHead(const RequestHead &head) {
  std::string out;
  out.reserve(256);
  out += head.method;
  out += ' ';
  out += head.target;
  out += " HTTP/" + std::to_string(head.versionMajor) + "." + std::to_string(head.versionMinor) +
         "\r\n";
  appendHeaders(out, head.headers);
  return out;
}

std::string serializeResponseHead(const ResponseHead &head) {
  std::string out;
  out.reserve(256);
  out += "HTTP/" + std::to_string(head.versionMajor) + "." + std::to_string(head.versionMinor) +
         " " + std::to_string(head.status) + " ";
  out += head.reason.empty() ? std::string(reasonPhrase(head.status)) : head.reason;
  out += "\r\n";
  appendHeaders(out, head.headers);
  return out;
}

std::string chunkHeader(std::size_t size) {
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%zx\r\n", size);
  return std::string(buf, static_cast<std::size_t>(n));
}

std::string simpleResponse(int status, std::string_view reason, std::string_view body, bool close,
                           std::string_view contentType) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
  out += "Content-Type: " + std::string(contentType) + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  if (close) out += "Connection: close\r\n";
  out += "\r\n";
  out += body;
  return out;
}

std::string_view reasonPhrase(int status) {
  switch (status) {
  case 100: return "Continue";
  case 101: return "Switching Protocols";
  case 103: return "Early Hints";
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 206: return "Partial Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 303: return "See Other";
  case 304: return "Not Modified";
  case 307: return "Temporary Redirect";
  case 308: return "Permanent Redirect";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 407: return "Proxy Authentication Required";
  case 408: return "Request Timeout";
  case 411: return "Length Required";
  case 413: return "Content Too Large";
  case 414: return "URI Too Long";
  case 416: return "Range Not Satisfiable";
  case 417: return "Expectation Failed";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  default: return "Unknown";
  }
}

} // namespace regcache::proxy::http
