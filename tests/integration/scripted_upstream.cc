#include "scripted_upstream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace regcache::test {
namespace {

std::string lowerCopy(std::string s) {
  for (char &c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Reads from fd into buffer until `need` is satisfied; false on EOF, error or stop.
bool fill(int fd, std::string &buffer, const std::function<bool()> &need,
          const std::atomic<bool> &stopping) {
  char chunk[65536];
  while (!need()) {
    if (stopping) return false;
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, 100);
    if (ready == 0) continue;
    if (ready < 0) return false;
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
  return true;
}

} // namespace

bool RecordedRequest::hasHeaderLine(const std::string &line) const {
  return lowerCopy(head).find("\r\n" + lowerCopy(line) + "\r\n") != std::string::npos ||
         lowerCopy(head + "\r\n").find("\r\n" + lowerCopy(line) + "\r\n") != std::string::npos;
}

bool UpstreamReply::send(const std::string &bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + done, std::min<std::size_t>(bytes.size() - done, 65536),
                       MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
    sent_ += static_cast<std::uint64_t>(n);
  }
  return true;
}

ScriptedUpstream::ScriptedUpstream(Handler handler) : handler_(std::move(handler)) {
  server_.emplace([this](int fd) { serve(fd); }, "the scripted upstream");
}

ScriptedUpstream::~ScriptedUpstream() { server_.reset(); }

std::vector<RecordedRequest> ScriptedUpstream::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

void ScriptedUpstream::serve(int fd) {
  std::string buffer;
  for (;;) {
    std::size_t headEnd = std::string::npos;
    if (!fill(
            fd, buffer, [&] { return (headEnd = buffer.find("\r\n\r\n")) != std::string::npos; },
            stopping())) {
      break;
    }
    RecordedRequest request;
    request.head = buffer.substr(0, headEnd);
    buffer.erase(0, headEnd + 4);
    std::string lower = lowerCopy(request.head);
    if (auto pos = lower.find("\r\ncontent-length:"); pos != std::string::npos) {
      std::size_t length = std::stoull(lower.substr(pos + 17));
      if (!fill(
              fd, buffer, [&] { return buffer.size() >= length; }, stopping()))
        break;
      request.body = buffer.substr(0, length);
      buffer.erase(0, length);
    } else if (lower.find("transfer-encoding: chunked") != std::string::npos) {
      for (;;) {
        std::size_t lineEnd = std::string::npos;
        if (!fill(
                fd, buffer, [&] { return (lineEnd = buffer.find("\r\n")) != std::string::npos; },
                stopping())) {
          return;
        }
        std::size_t size = std::stoull(buffer.substr(0, lineEnd), nullptr, 16);
        if (!fill(
                fd, buffer, [&] { return buffer.size() >= lineEnd + 2 + size + 2; }, stopping())) {
          return;
        }
        request.body += buffer.substr(lineEnd + 2, size);
        buffer.erase(0, lineEnd + 2 + size + 2);
        if (size == 0) break;
      }
    }
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
    }
    UpstreamReply reply(fd, sent_);
    handler_(request, reply);
    if (reply.closeAfter) break;
  }
  ::shutdown(fd, SHUT_RDWR);
}

std::string okResponse(const std::string &body, const std::string &extraHeaders) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         extraHeaders + "\r\n" + body;
}

} // namespace regcache::test
