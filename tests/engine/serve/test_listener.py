"""The server's listening socket makes asyncio turn Nagle off on every connection it accepts.

A socket from `socket.create_server` has protocol 0, and asyncio sets TCP_NODELAY only on accepted sockets whose
protocol is IPPROTO_TCP; with Nagle on, every answer waited ~40 ms for the client's delayed ACK (issue #17's bench).
"""

from __future__ import annotations

import asyncio
import socket
import threading

from layerlab.serve.server import bind


def _accepted_nodelay(sock: socket.socket) -> int:
    """TCP_NODELAY of the connection an asyncio server on `sock` accepts (run in a thread of its own loop)."""
    seen: list[int] = []

    async def main() -> None:
        def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            conn = writer.get_extra_info("socket")
            seen.append(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(on_connect, sock=sock)
        port = sock.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(200):
            if seen:
                break
            await asyncio.sleep(0.01)
        writer.close()
        server.close()

    thread = threading.Thread(target=lambda: asyncio.run(main()))
    thread.start()
    thread.join(10)
    assert seen, "no connection was accepted"
    return seen[0]


def test_accepted_connections_have_nagle_off():
    sock = bind("127.0.0.1", 0)
    assert sock.proto == socket.IPPROTO_TCP
    assert _accepted_nodelay(sock) != 0


def test_a_plain_create_server_socket_would_not_and_the_port_can_be_reused():
    """The reason for `_listener`: asyncio leaves Nagle on for a protocol-0 listener."""
    assert _accepted_nodelay(socket.create_server(("127.0.0.1", 0))) == 0
    first = bind("127.0.0.1", 0)
    port = first.getsockname()[1]
    first.close()
    bind("127.0.0.1", port).close()  # SO_REUSEADDR: a restarted server gets its port back at once
