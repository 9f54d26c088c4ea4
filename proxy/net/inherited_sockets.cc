#include "proxy/net/inherited_sockets.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace regcache::proxy::net {
namespace {

// A whole decimal number, nothing before or after it.
bool parseNumber(std::string_view text, long &out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

constexpr long kMaxInherited = 1024; // far above any sane socket unit

} // namespace

Result<int> inheritedSocketCount(const char *listenPid, const char *listenFds, pid_t self) {
  if (listenPid == nullptr || *listenPid == '\0') return 0;
  long pid = 0;
  if (!parseNumber(listenPid, pid) || pid <= 0) {
    return fail(Error::kInvalidInput, std::string("LISTEN_PID is not a process id: ") + listenPid);
  }
  if (pid != self) return 0; // meant for the process that started us
  long count = 0;
  if (listenFds == nullptr || !parseNumber(listenFds, count) || count < 0 ||
      count > kMaxInherited) {
    return fail(Error::kInvalidInput, std::string("LISTEN_FDS is not a socket count: ") +
                                          (listenFds != nullptr ? listenFds : "(unset)"));
  }
  return static_cast<int>(count);
}

Result<std::vector<int>> takeInheritedSockets() {
  auto count =
      inheritedSocketCount(std::getenv("LISTEN_PID"), std::getenv("LISTEN_FDS"), ::getpid());
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  if (!count.ok()) return count.failure();
  std::vector<int> fds;
  for (int fd = kFirstInheritedFd; fd < kFirstInheritedFd + count.value(); ++fd) {
    int type = 0;
    int listening = 0;
    socklen_t length = sizeof type;
    bool isStream =
        ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) == 0 && type == SOCK_STREAM;
    length = sizeof listening;
    bool isListening =
        ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) == 0 && listening != 0;
    if (!isStream || !isListening) {
      return fail(Error::kInvalidInput,
                  "inherited descriptor " + std::to_string(fd) +
                      " is not a listening TCP socket (ListenStream= in the socket unit)");
    }
    ::fcntl(fd, F_SETFD, FD_CLOEXEC); // like sd_listen_fds: children must not keep them
    fds.push_back(fd);
  }
  return fds;
}

} // namespace regcache::proxy::net
