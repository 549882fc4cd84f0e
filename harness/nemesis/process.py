"""Process faults: SIGKILL a node and restart it on the same data later, or SIGSTOP it and SIGCONT it.

Both faults reach exactly the node process through the DB (which keeps its pid), never the
container: a restarted container would lose its network namespace and with it every other
fault's state. Both share one heal, because a node that was killed during a pause, or paused
and then killed by a racing fault, must end up the same way: running and not stopped.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from harness.dbs.abilities import Process
from harness.errors import HarnessError
from harness.nemesis.base import HealError
from harness.nemesis.parallel import on_nodes
from harness.nemesis.targets import DEFAULT_TARGETS, choose, no_leader
from harness.remote.base import RemoteError


def _wait_state(db: Process, node: str, wanted: set[str | None], timeout: float = 5.0) -> str | None:
    """Poll the process state until it is one of `wanted`; returns the last state seen."""
    deadline = time.monotonic() + timeout
    state = db.process_state(node)
    while state not in wanted and time.monotonic() < deadline:
        time.sleep(0.05)
        state = db.process_state(node)
    return state


def revive(db: Process, nodes: Sequence[str]) -> dict[str, Any]:
    """SIGCONT stopped nodes, restart dead ones, and verify every node runs and is not stopped."""

    def one(node: str) -> tuple[str, Any, str | None]:
        action: tuple[str, Any] = ("", None)
        try:
            state = db.process_state(node)
            if state == "T":
                db.resume(node)
                action = ("resumed", None)
            elif state in (None, "Z"):
                old = db.pid(node)
                db.start(node)
                action = ("restarted", {"old_pid": old, "new_pid": db.pid(node)})
            state = _wait_state(db, node, {"R", "S", "D"})
            problem = None if state in ("R", "S", "D") else f"{node}: process state {state!r} after heal"
        except (HarnessError, RemoteError) as e:
            problem = f"{node}: {e}"
        return (*action, problem)

    done = on_nodes(nodes, one)
    problems = [p for _, _, p in done.values() if p]
    if problems:
        raise HealError("process heal failed: " + " | ".join(problems))
    return {"resumed": [n for n, (what, _, _) in done.items() if what == "resumed"],
            "restarted": {n: pids for n, (what, pids, _) in done.items() if what == "restarted"},
            "nodes": list(nodes), "verified": True}


class _ProcessNemesis:
    name = ""

    def __init__(self, db: Process, nodes: Sequence[str], rng: random.Random,
                 targets: Sequence[str] = DEFAULT_TARGETS, primaries: Callable[[], list[str]] = no_leader) -> None:
        """`targets` are drawn from per injection (one of them: always that); `primaries` names the
        current leaders, for leader-relative targets."""
        self.db = db
        self.nodes = list(nodes)
        self.rng = rng
        self.targets = list(targets)
        self.primaries = primaries

    def heal(self) -> dict[str, Any]:
        return {"kind": f"heal-{self.name}", **revive(self.db, self.nodes)}


class KillNemesis(_ProcessNemesis):
    """SIGKILL the targets' node processes; heal restarts them on their existing data dirs."""

    name = "kill"

    def _kill(self, node: str) -> str | None:
        self.db.kill(node)
        return _wait_state(self.db, node, {None, "Z"})

    def inject(self) -> dict[str, Any]:
        aim = choose(self.targets, self.nodes, self.rng, self.primaries)
        nodes = aim["nodes"]
        pids = {node: self.db.pid(node) for node in nodes}
        states = on_nodes(nodes, self._kill)
        return {"kind": "kill", **aim, "pids": pids,
                "verified": all(s in (None, "Z") for s in states.values()), "states": states}


class PauseNemesis(_ProcessNemesis):
    """SIGSTOP the targets' node processes; heal sends SIGCONT."""

    name = "pause"

    def _pause(self, node: str) -> str | None:
        self.db.pause(node)
        return _wait_state(self.db, node, {"T"})

    def inject(self) -> dict[str, Any]:
        aim = choose(self.targets, self.nodes, self.rng, self.primaries)
        nodes = aim["nodes"]
        states = on_nodes(nodes, self._pause)
        return {"kind": "pause", **aim,
                "verified": all(s == "T" for s in states.values()), "states": states}
