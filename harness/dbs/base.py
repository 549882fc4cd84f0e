"""What the harness needs from a system under test, and from a connection to one of its nodes.

A new system is one module implementing `DB` (lifecycle and fault hooks) and `KVConnection`
(what the register workload's client calls). Connections never guess: every error is either
`Definite` (the operation certainly did not take effect) or `Indeterminate` (it may have).
"""

from __future__ import annotations

from typing import Any, Protocol


class Definite(Exception):
    """The operation certainly did not happen (rejected before it was sent, not leader, cas mismatch)."""

    def __init__(self, error: str, value: Any = None) -> None:
        super().__init__(error)
        self.error = error
        self.value = value


class Indeterminate(Exception):
    """The operation may or may not have happened (a timeout after sending, a dropped connection)."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class KVConnection(Protocol):
    node: str

    def read(self, key: str) -> Any: ...

    def write(self, key: str, value: Any) -> None: ...

    def cas(self, key: str, expected: Any, new: Any) -> None: ...

    def close(self) -> None: ...


class DB(Protocol):
    name: str

    def setup(self, node: str) -> None:
        """Install and start the system on a fresh node."""
        ...

    def start(self, node: str) -> None:
        """(Re)start the node's process on its existing data."""
        ...

    def kill(self, node: str) -> None: ...

    def pause(self, node: str) -> None: ...

    def resume(self, node: str) -> None: ...

    def is_running(self, node: str) -> bool: ...

    def teardown(self, node: str) -> None: ...

    def log_files(self, node: str) -> list[str]: ...

    def primaries(self) -> list[str]:
        """The nodes that currently believe they lead (may be several during a partition)."""
        ...

    def wait_ready(self, timeout: float) -> str:
        """Block until the cluster can serve clients; returns the leader, or raises HarnessError."""
        ...

    def connect(self, node: str, timeout: float) -> KVConnection: ...

    def peer_port(self) -> int:
        """The port nodes use to talk to each other (the nemesis probes it to verify a partition)."""
        ...
