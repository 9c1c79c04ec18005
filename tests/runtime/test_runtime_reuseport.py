"""SO_REUSEPORT steering, in-process: where the kernel sends new connections of a shared port."""

from __future__ import annotations

import socket

import pytest

from engine.runtime.reuseport import bind_stable_socket, count_listeners, steer

pytestmark = pytest.mark.timeout(10)


def _accepted(sockets: list[socket.socket], connections: int, port: int) -> list[int]:
    for _ in range(connections):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    counts = []
    for sock in sockets:
        sock.setblocking(False)
        n = 0
        try:
            while True:
                conn, _ = sock.accept()
                conn.close()
                n += 1
        except BlockingIOError:
            pass
        counts.append(n)
    return counts


def test_steering_moves_every_new_connection() -> None:
    first = bind_stable_socket(0)
    port = first.getsockname()[1]
    steer(first, 0)
    second = bind_stable_socket(port)  # joins the group at index 1; pinned to index 0
    try:
        assert count_listeners(port) == 2
        assert _accepted([first, second], 40, port) == [40, 0]
        steer(second, 1)  # any member may set the group's program
        assert _accepted([first, second], 40, port) == [0, 40]
        first.close()  # the second socket moves to index 0; index 1 is out of range -> hashing
        assert count_listeners(port) == 1
        assert _accepted([second], 10, port) == [10]
    finally:
        first.close()
        second.close()
    assert count_listeners(port) == 0


def test_sockets_are_ipproto_tcp() -> None:
    # asyncio sets TCP_NODELAY on accepted connections only for proto == IPPROTO_TCP; with
    # proto 0 every response waited ~40 ms for a delayed ACK (Nagle).
    from engine.runtime.reuseport import bind_private_socket

    for sock in (bind_stable_socket(0), bind_private_socket()):
        with sock:
            assert sock.proto == socket.IPPROTO_TCP
