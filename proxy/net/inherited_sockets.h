#pragma once
// Listening sockets handed over by systemd socket activation (sd_listen_fds(3) semantics,
// without libsystemd): LISTEN_PID names this process and LISTEN_FDS counts the sockets, which
// start at fd 3. A socket unit keeps them open while the service restarts, so clients wait in
// the backlog instead of being refused.
#include <sys/types.h>

#include <vector>

#include "base/result.h"

namespace regcache::proxy::net {

// The first inherited descriptor (SD_LISTEN_FDS_START).
inline constexpr int kFirstInheritedFd = 3;

// How many sockets the variables pass to process `self`: 0 when LISTEN_PID is unset or names
// another process (the variables were meant for a parent). Errors: kInvalidInput when a value
// is not a number, or the count is out of range. Pure: the values are given, not read.
Result<int> inheritedSocketCount(const char *listenPid, const char *listenFds, pid_t self);

// Reads LISTEN_PID/LISTEN_FDS, unsets them (and LISTEN_FDNAMES) so no child inherits them, and
// returns the inherited descriptors, each checked to be a listening stream socket and marked
// close-on-exec. The caller owns them. Errors: kInvalidInput for bad variables or a descriptor
// that is not a listening stream socket.
Result<std::vector<int>> takeInheritedSockets();

} // namespace regcache::proxy::net
