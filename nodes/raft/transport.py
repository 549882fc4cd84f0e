"""Peer-to-peer messaging over TCP: newline-delimited JSON, one message per line.

Each node keeps one outbound connection per peer and only writes to it;
replies travel back on the replier's own outbound connection. Raft tolerates
lost messages, so the transport drops rather than waits: a partitioned peer
(iptables DROP makes connects and sends hang) costs a bounded queue and a
timeout, and never blocks traffic to the other peers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections import deque
from collections.abc import Callable

from nodes.raft.messages import Message, decode, encode

log = logging.getLogger(__name__)

LINE_LIMIT = 64 * 1024 * 1024  # an AppendEntries batch is one line
CONNECT_TIMEOUT = 0.5
SEND_TIMEOUT = 1.0
RETRY_DELAY = 0.1
MAX_QUEUE = 2000


def tune_socket(writer: asyncio.StreamWriter, user_timeout_ms: int | None = None) -> None:
    """Make dead connections fail fast instead of hanging in TCP retransmission backoff."""
    sock = writer.get_extra_info("socket")
    if sock is None:
        return
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in (("TCP_KEEPIDLE", 2), ("TCP_KEEPINTVL", 1), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, name):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)
    if user_timeout_ms is not None and hasattr(socket, "TCP_USER_TIMEOUT"):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, user_timeout_ms)


class PeerLink:
    """Outbound connection to one peer with a bounded, lossy send queue."""

    def __init__(self, peer: str, host: str, port: int) -> None:
        self.peer, self.host, self.port = peer, host, port
        self._queue: deque[bytes] = deque(maxlen=MAX_QUEUE)  # full: oldest dropped
        self._wake = asyncio.Event()

    def send(self, msg: Message) -> None:
        self._queue.append(json.dumps(encode(msg), separators=(",", ":")).encode() + b"\n")
        self._wake.set()

    async def run(self) -> None:
        """Connect, write queued messages, and reconnect on any failure, forever."""
        while True:
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), CONNECT_TIMEOUT)
            except (OSError, TimeoutError):
                self._queue.clear()  # stale by the time a connection exists; Raft resends
                await asyncio.sleep(RETRY_DELAY)
                continue
            tune_socket(writer, user_timeout_ms=int(SEND_TIMEOUT * 1000) * 2)
            try:
                await self._pump(writer)
            except (OSError, TimeoutError) as exc:
                log.debug("link to %s failed: %r", self.peer, exc)
            finally:
                writer.transport.abort()
            await asyncio.sleep(RETRY_DELAY)

    async def _pump(self, writer: asyncio.StreamWriter) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch = b"".join(self._queue)
            self._queue.clear()
            writer.write(batch)
            await asyncio.wait_for(writer.drain(), SEND_TIMEOUT)
            if writer.is_closing():
                raise ConnectionResetError("closed")


async def serve_peers(host: str, port: int, deliver: Callable[[Message], None]) -> asyncio.Server:
    """Accept peer connections and hand every decoded message to ``deliver``."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tune_socket(writer)
        try:
            while line := await reader.readline():
                try:
                    msg = decode(json.loads(line))
                except (ValueError, KeyError, TypeError) as exc:
                    log.warning("dropping malformed peer message: %r", exc)
                    continue
                deliver(msg)
        except (OSError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    return await asyncio.start_server(handle, host, port, limit=LINE_LIMIT, reuse_address=True)
