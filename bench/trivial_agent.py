"""A trivial HTTP endpoint speaking the runtime contract, fast enough not to be the bottleneck.

    python bench/trivial_agent.py PORT

`POST /invocations` answers `{"response": "ok", "trajectory": [], "usage": {}}` at once,
`GET /ping` answers `{"status": "Healthy"}`, `GET /count` the number of invocations answered
so far (a decimal number): the load benchmark counts every generator's requests here, the
same way for each, without adding work to any generator. HTTP/1.1 keep-alive, no auth. It is
a bare asyncio protocol (no framework), so one core serves several times what one Locust
process can send: the load-generator benchmark then measures the generators, not this server.
"""

from __future__ import annotations

import asyncio
import sys

BODY = b'{"response": "ok", "trajectory": [], "usage": {}}'
PING = b'{"status": "Healthy"}'


def _response(body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


ANSWER = _response(BODY)
PONG = _response(PING)


class Endpoint(asyncio.Protocol):
    answered = 0  # invocations, over all connections

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if len(self.buf) < end + 4 + length:
                return
            self.buf = self.buf[end + 4 + length :]
            if head.startswith("GET /ping"):
                out = PONG
            elif head.startswith("GET /count"):
                out = _response(str(Endpoint.answered).encode())
            else:
                out = ANSWER
                Endpoint.answered += 1
            self.transport.write(out)  # type: ignore[attr-defined]


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Endpoint, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
