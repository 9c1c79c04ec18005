"""SO_REUSEPORT plumbing behind the local runtime's stable ports (Linux only, stdlib only).

Role: both sides of the runtime use it. The agent host (child) binds its sockets with it and
steers the port's connections when told to; the process manager (parent) counts the port's
listeners before it starts a new version.

Why steering exists. Every version of an agent binds the same stable 127.0.0.1 port with
`SO_REUSEPORT`, so a new version can start while the old one still serves. Plain
SO_REUSEPORT has two holes that would break "no moment without a healthy agent":

1. The kernel load-balances new connections over *every* listener in the group as soon as it
   calls listen(). A new version that is still starting, or that never becomes healthy, would get
   a share of live traffic.
2. When a listener closes, connections that completed the handshake but sit in its accept
   queue are reset (unless `net.ipv4.tcp_migrate_req=1`, which is off by default).

So the group carries a classic-BPF program (`SO_ATTACH_REUSEPORT_CBPF`) that returns a fixed
index: every new connection goes to the socket at that index of the group. The group's socket
array is ordered by listen() time and compacted when a socket leaves (the last one moves into
the hole). The protocol keeps the invariant "the program points at the active version":

* A host pins index 0 right after its own listen(). Alone, that is itself; beside a running
  version, that is the running version, so a newcomer gets no traffic.
* Once the newcomer (index 1) is healthy, the parent tells it to steer to index 1: from then on
  only the newcomer receives new connections.
* The old version is then stopped. It first waits until its accept queue is empty (nothing new
  arrives there any more), then closes. The newcomer moves to index 0; until the parent pins it
  to 0 again, index 1 is out of range and the kernel falls back to hashing over the one socket.

Attaching a classic BPF socket program needs no privilege. The group is per (address, port, uid).
"""

from __future__ import annotations

import ctypes
import select
import socket
import struct
import sys
from pathlib import Path

LOOPBACK = "127.0.0.1"
# Accept-queue length; uvicorn's default. Bursts of 32+ concurrent clients fit easily.
BACKLOG = 2048
# From <asm-generic/socket.h>; Python's socket module does not export it.
SO_ATTACH_REUSEPORT_CBPF = 51
_BPF_RET_K = 0x06  # BPF_RET | BPF_K: "return the constant k"
_TCP_LISTEN = "0A"  # socket state column of /proc/net/tcp


def _tcp_socket() -> socket.socket:
    # proto must be IPPROTO_TCP, not the default 0: asyncio enables TCP_NODELAY on accepted
    # connections only when `sock.proto == IPPROTO_TCP`, and accepted sockets inherit the
    # listener's proto. Without it, Nagle holds a response's body until the client's delayed
    # ACK of the headers: about 40 ms on every request.
    return socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)


def bind_stable_socket(port: int, *, host: str = LOOPBACK) -> socket.socket:
    """Bind and listen on the stable address, joining its SO_REUSEPORT group.

    The socket is in the group from listen() on. Callers pin the group right after (see
    `steer`) so that joining never moves traffic by itself.
    """
    sock = _tcp_socket()
    try:
        # SO_REUSEADDR: bind despite TIME_WAIT connections of the previous version.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock


def bind_private_socket(*, host: str = LOOPBACK) -> socket.socket:
    """Bind and listen on a fresh ephemeral port that only this process will ever own."""
    sock = _tcp_socket()
    try:
        sock.bind((host, 0))
        sock.listen(BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock


def steer(sock: socket.socket, index: int) -> None:
    """Send every new connection of `sock`'s SO_REUSEPORT group to the socket at `index`.

    The program belongs to the group, not to `sock`: any member can replace it. An index past the
    end of the group makes the kernel fall back to its usual hashing.
    """
    if index < 0:
        raise ValueError(f"steering index must be >= 0, got {index}")
    # struct sock_filter {u16 code; u8 jt; u8 jf; u32 k} - a one-instruction program.
    insn = ctypes.create_string_buffer(struct.pack("=HBBI", _BPF_RET_K, 0, 0, index))
    # struct sock_fprog {unsigned short len; struct sock_filter *filter} with native alignment
    # (`@`), so the pointer lands where the kernel expects it. The kernel copies the program
    # during setsockopt, so `insn` only has to live until the call returns.
    fprog = struct.pack("@HP", 1, ctypes.addressof(insn))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, fprog)


def has_pending_connections(sock: socket.socket) -> bool:
    """True when a listening socket has handshaken connections waiting in its accept queue."""
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


def _proc_net_address(host: str, port: int) -> str:
    # /proc/net/tcp prints the raw in-memory address as %08X (host byte order) and the port
    # as %04X after ntohs.
    raw = int.from_bytes(socket.inet_aton(host), sys.byteorder)
    return f"{raw:08X}:{port:04X}"


def count_listeners(port: int, *, host: str = LOOPBACK, proc_net: Path | None = None) -> int:
    """How many sockets of this network namespace listen on `host:port` (IPv4 only)."""
    wanted = _proc_net_address(host, port)
    path = proc_net or Path("/proc/net/tcp")
    count = 0
    with path.open(encoding="ascii") as lines:
        next(lines, None)  # header
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and fields[1] == wanted and fields[3] == _TCP_LISTEN:
                count += 1
    return count
