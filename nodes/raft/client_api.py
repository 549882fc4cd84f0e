"""Client protocol framing: newline-delimited JSON requests in, responses out.

Requests on one connection are handled concurrently (clients may pipeline),
and each response carries its request's id, so responses may come out of
order. What a request *does* is up to the ``execute`` callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from nodes.raft.transport import LINE_LIMIT, tune_socket

Execute = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


async def _answer(line: bytes, writer: asyncio.StreamWriter, execute: Execute) -> None:
    try:
        request = json.loads(line)
        if not isinstance(request, dict):
            raise ValueError("request must be an object")
    except ValueError:
        response: dict[str, Any] = {"id": None, "status": "fail", "error": "bad-request"}
    else:
        response = {"id": request.get("id"), **await execute(request)}
    if writer.is_closing():
        return
    writer.write(json.dumps(response, separators=(",", ":")).encode() + b"\n")
    with contextlib.suppress(OSError):
        await writer.drain()


async def serve_clients(host: str, port: int, execute: Execute) -> asyncio.Server:
    """Listen for clients; ``execute`` maps a request to its response (without the id)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tune_socket(writer)
        tasks: set[asyncio.Task[None]] = set()
        try:
            while line := await reader.readline():
                if line.strip():
                    task = asyncio.create_task(_answer(line, writer, execute))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
            if tasks:  # the client closed its side: still answer what it sent (each is time-bounded)
                await asyncio.wait(set(tasks))
        except (OSError, ValueError, asyncio.LimitOverrunError):
            pass
        finally:
            for task in tasks:
                task.cancel()
            writer.close()

    return await asyncio.start_server(handle, host, port, limit=LINE_LIMIT, reuse_address=True)
