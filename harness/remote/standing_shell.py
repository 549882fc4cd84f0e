"""A long-lived `sh` in a container, fed one command at a time on its stdin.

Every `docker exec` costs the engine an exec record, a runc start inside the container's
namespaces and a few API round trips: ~0.1 s on an idle machine, 1-8 s on a loaded one. A fault
package's windows are often shorter than that (a vote's flight time, a leader's first
append), so a fault aimed at "right after X" lands long after X. One shell per node, started
once and kept, runs each later command as a plain fork inside the container: milliseconds
under the same load. Each command's output ends in a marker line carrying a token of its own
and its exit code, on stdout and stderr both, so the reader knows where it ends without closing
the stream.
"""

from __future__ import annotations

import shlex
import socket
import struct
import uuid
from typing import Any

from harness.remote.base import ExecResult


class ShellLost(Exception):
    """The shell's stream broke or went quiet: drop this shell (the caller falls back to a fresh exec)."""


class StandingShell:
    def __init__(self, api: Any, container_id: str) -> None:
        exec_id = api.exec_create(container_id, ["sh"], stdin=True, stdout=True, stderr=True)["Id"]
        self._sock: socket.socket = api.exec_start(exec_id, socket=True)._sock
        self._buf = b""

    def run(self, argv: list[str], timeout: float) -> ExecResult:
        """Run argv (bounded by coreutils `timeout` in the container, as a fresh exec is) and wait
        for its marker; the socket gives up `timeout` + 5 s later (ShellLost)."""
        token = uuid.uuid4().hex
        line = (f"timeout -s KILL {timeout:g} {shlex.join(argv)} </dev/null; "
                f"printf '\\n{token} %d\\n' $?; printf '\\n{token}\\n' >&2\n")
        self._sock.settimeout(timeout + 5)
        try:
            self._sock.sendall(line.encode())
            out, err = self._until(token.encode())
        except OSError as e:
            raise ShellLost(str(e)) from e
        body, _, code = out.rpartition(b"\n" + token.encode() + b" ")
        return ExecResult(int(code.strip()), body.decode(errors="replace"),
                          err[: err.rfind(b"\n" + token.encode())].decode(errors="replace"))

    def _until(self, token: bytes) -> tuple[bytes, bytes]:
        """Read the engine's multiplexed frames (8-byte header: stream, 3 zero bytes, big-endian
        size) until both streams have shown the token's line."""
        streams = {1: b"", 2: b""}
        ended: set[int] = set()
        while ended != {1, 2}:
            while len(self._buf) < 8 or len(self._buf) < 8 + struct.unpack(">I", self._buf[4:8])[0]:
                chunk = self._sock.recv(65536)
                if not chunk:
                    raise ShellLost("the shell's stream ended")
                self._buf += chunk
            kind, size = self._buf[0], struct.unpack(">I", self._buf[4:8])[0]
            payload, self._buf = self._buf[8:8 + size], self._buf[8 + size:]
            if kind in streams:
                streams[kind] += payload
                if streams[kind].endswith(b"\n") and token in streams[kind]:
                    ended.add(kind)
        return streams[1], streams[2]

    def close(self) -> None:
        self._sock.close()
