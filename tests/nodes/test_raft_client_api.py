"""Client protocol framing, against a fake executor (no Raft involved)."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

from nodes.raft.client_api import serve_clients


async def slow_echo(request: dict[str, Any]) -> dict[str, Any]:
    await asyncio.sleep(0.2 if request.get("op") == "slow" else 0)
    return {"status": "ok", "value": request.get("op")}


def exchange(payload: bytes, expect: int) -> list[dict[str, Any]]:
    """Send ``payload``, half-close, and collect ``expect`` response lines."""

    async def scenario() -> list[dict[str, Any]]:
        server = await serve_clients("127.0.0.1", 0, slow_echo)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(payload)
        await writer.drain()
        writer.write_eof()  # like `printf ... | nc`: responses must still arrive
        lines = [json.loads(await asyncio.wait_for(reader.readline(), 30)) for _ in range(expect)]
        assert await asyncio.wait_for(reader.read(), 30) == b""
        writer.close()
        server.close()
        return lines

    return asyncio.run(scenario())


def test_pipelined_responses_carry_ids_and_may_reorder() -> None:
    replies = exchange(b'{"id": 1, "op": "slow"}\n{"id": "two", "op": "fast"}\n', expect=2)
    assert replies == [
        {"id": "two", "status": "ok", "value": "fast"},
        {"id": 1, "status": "ok", "value": "slow"},
    ]


def test_garbage_gets_bad_request_and_blank_lines_are_ignored() -> None:
    replies = exchange(b'not json\n\n[1, 2]\n{"id": 3, "op": "x"}\n', expect=3)
    assert replies[:2] == [{"id": None, "status": "fail", "error": "bad-request"}] * 2
    assert replies[2] == {"id": 3, "status": "ok", "value": "x"}


def test_port_is_reusable_right_after_close() -> None:
    async def bind_twice() -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        for _ in range(2):
            server = await serve_clients("127.0.0.1", port, slow_echo)
            server.close()
            await server.wait_closed()

    asyncio.run(bind_twice())
