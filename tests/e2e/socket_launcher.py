#!/usr/bin/env python3
"""Passes listening sockets to a service the way systemd socket activation does.

Binds each ADDRESS (host:port, [v6]:port) once, then runs COMMAND with the sockets as fds 3...,
LISTEN_FDS=N and LISTEN_PID set to the child's own pid (set between fork and exec, as systemd
does). When the child exits it is started again (Restart=always), while the sockets stay open
here, so clients queue in the backlog instead of being refused. The child's pid is written to
PIDFILE before each start. SIGTERM or SIGINT to the launcher: the child gets SIGTERM, and the
launcher exits with the child's status once it is gone. At most MAX_STARTS starts, so a child
that cannot start does not loop for ever.

Usage: socket_launcher.py PIDFILE ADDRESS[,ADDRESS...] COMMAND...
"""
import os
import signal
import socket
import sys
import time

MAX_STARTS = 50


def bind(address):
    host, _, port = address.rpartition(":")
    family = socket.AF_INET6 if host.startswith("[") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.bind((host.strip("[]"), int(port)))
    sock.listen(128)
    return sock


def start(sockets, command, pidfile):
    pid = os.fork()
    if pid == 0:
        # Copies above the target range first: a socket may already sit on fd 3, and dup2 onto
        # itself would leave it close-on-exec.
        for index, sock in enumerate(sockets):
            os.dup2(sock.fileno(), 100 + index)
        for index in range(len(sockets)):
            os.dup2(100 + index, 3 + index)  # the copy is inheritable
            os.close(100 + index)
        os.environ["LISTEN_FDS"] = str(len(sockets))
        os.environ["LISTEN_PID"] = str(os.getpid())
        os.execvp(command[0], command)
    with open(pidfile + ".tmp", "w") as f:
        f.write(f"{pid}\n")
    os.replace(pidfile + ".tmp", pidfile)
    return pid


def main():
    pidfile, addresses, command = sys.argv[1], sys.argv[2].split(","), sys.argv[3:]
    sockets = [bind(a) for a in addresses]
    stopping = False
    child = None

    def on_stop(signum, _frame):
        nonlocal stopping
        stopping = True
        if child is not None:
            try:
                os.kill(child, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    status = 0
    for _ in range(MAX_STARTS):
        child = start(sockets, command, pidfile)
        _, raw = os.waitpid(child, 0)
        status = os.waitstatus_to_exitcode(raw)
        child = None
        print(f"socket_launcher: child exited with {status}", file=sys.stderr, flush=True)
        if stopping:
            break
        time.sleep(0.1)  # RestartSec=100ms
    sys.exit(0 if status == 0 else 1)


if __name__ == "__main__":
    main()
