"""How a command reaches a node: one small interface, implemented over Docker and over SSH.

Everything above this layer (databases, nemeses) speaks only `Remote`, so the same fault code
drives containers on this machine and real hosts elsewhere.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


class RemoteError(Exception):
    """A command could not be run on a node at all (the node is gone, the transport failed)."""


class Remote(Protocol):
    def exec(self, node: str, argv: list[str], timeout: float = 30.0) -> ExecResult:
        """Run argv on the node and wait for it; a command still running after `timeout` is killed."""
        ...

    def spawn(self, node: str, shell: str) -> None:
        """Start a shell command in the background on the node and return at once."""
        ...

    def put(self, node: str, local: Path, remote_dir: str) -> None:
        """Copy a local file or folder into a folder on the node."""
        ...

    def get(self, node: str, remote: str, local_dir: Path) -> None:
        """Copy a file or folder from the node into a local folder."""
        ...


def signal(remote: Remote, node: str, pid: int, sig: str) -> ExecResult:
    """Send a signal (by name, e.g. "KILL") to a process on the node."""
    return remote.exec(node, ["kill", f"-{sig}", str(pid)], timeout=10)


def shell(argv: list[str]) -> str:
    return " ".join(shlex.quote(a) for a in argv)
