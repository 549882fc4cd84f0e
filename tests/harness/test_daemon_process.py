"""A daemon's process state is read with an end marker, so an exec whose output was lost is never
taken for "not running" (which made a heal start a second etcd beside a live one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.dbs.base import Nodes
from harness.dbs.daemon import DaemonDB
from harness.remote.base import ExecResult, RemoteError


class Replies:
    """A Remote whose exec answers from a list, as the Docker engine did: sometimes exit 0, no output."""

    def __init__(self, *stdouts: str) -> None:
        self.stdouts = list(stdouts)
        self.calls = 0

    def exec(self, node: str, argv: list[str], timeout: float = 30.0) -> ExecResult:
        self.calls += 1
        return ExecResult(0, self.stdouts.pop(0), "")

    def spawn(self, node: str, shell: str) -> None: ...

    def put(self, node: str, local: Path, remote_dir: str) -> None: ...

    def get(self, node: str, remote: str, local_dir: Path) -> None: ...


class Sleeper(DaemonDB):
    name = "sleeper"

    def command(self, node: str) -> list[str]:
        return ["sleep", "infinity"]

    def wait_ready(self, timeout: float) -> None:
        return None

    def connect(self, node: str, timeout: float) -> None:
        raise NotImplementedError


def bound(remote: Replies) -> Sleeper:
    db = Sleeper({})
    db.bind(Nodes(remote, {"n1": "10.0.0.1"}))
    return db


def test_running_stopped_and_gone_are_told_apart() -> None:
    db = bound(Replies("pid=42 state=Sl end\n", "pid=42 state=T end\n", "pid=42 state= end\n", "pid= state= end\n"))
    assert db.process_state("n1") == "S"
    assert db.process_state("n1") == "T"
    assert db.process_state("n1") is None  # the pidfile names a process that is gone
    assert db.pid("n1") is None  # no pidfile yet


def test_lost_output_is_asked_again_never_read_as_not_running() -> None:
    remote = Replies("", "pid=42 state=S end\n")
    assert bound(remote).process_state("n1") == "S"
    assert remote.calls == 2
    with pytest.raises(RemoteError, match="cannot tell whether sleeper runs"):
        bound(Replies("", "", "")).pid("n1")
