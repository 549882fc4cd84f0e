"""Tell a node process the nemesis killed from one that died on its own.

Every kill and restart a nemesis does goes through a `ProcessWatch` wrapped around the DB, which
keeps the nodes it killed and has not restarted. A dead process outside that set crashed by
itself (a panic, an assertion, an out-of-memory kill): the heal still restarts it, so the run
goes on, but the death is recorded and reported as a problem of the run, never quietly healed.
"""

from __future__ import annotations

import threading
import time
from typing import Any

DEAD = (None, "Z")


class ProcessWatch:
    """The DB, seen through the nemesis: `kill` and `start` are noted, everything else passes through."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self.killed: set[str] = set()
        self.deaths: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._t0 = time.monotonic()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)

    def kill(self, node: str, tries: int = 3) -> None:
        """SIGKILL the node's process, and make sure it is gone: on a loaded engine reading the pidfile
        now and then comes back empty, the signal goes nowhere, and a later start would put a second
        process beside the first (which then fails to bind its ports)."""
        with self._lock:
            self.killed.add(node)
        for _ in range(tries):
            self.db.kill(node)
            if self.dead(node, checks=2, gap_s=0.1):
                return

    def pause(self, node: str, tries: int = 3) -> None:
        """SIGSTOP the node's process, making sure it stopped (as `kill` does)."""
        for _ in range(tries):
            self.db.pause(node)
            if self.db.process_state(node) == "T":
                return
            time.sleep(0.1)

    def dead(self, node: str, checks: int = 3, gap_s: float = 0.3) -> bool:
        """Whether the node's process is gone, asked `checks` times: on a loaded engine an exec now and
        then comes back empty, which reads as "no pid", and one such answer must not count as a death."""
        for i in range(checks):
            if i:
                time.sleep(gap_s)
            if self.db.process_state(node) not in DEAD:
                return False
        return True

    def start(self, node: str) -> None:
        """Restart a node: one the nemesis killed, or one that died on its own (noted). A node that
        turns out to be running is left alone (a second process on the same data would corrupt it)."""
        with self._lock:
            expected = node in self.killed
        if not expected:
            if not self.dead(node):
                return
            with self._lock:
                self._died(node, "found dead when restarting")
        self.db.start(node)
        with self._lock:
            self.killed.discard(node)

    def _died(self, node: str, how: str) -> None:
        if not any(d["node"] == node and d.get("pid") == self.db.pid(node) for d in self.deaths):
            self.deaths.append({"node": node, "pid": self.db.pid(node), "how": how,
                                "at_s": round(time.monotonic() - self._t0, 3)})

    def survey(self, nodes: list[str]) -> list[dict[str, Any]]:
        """Note every node whose process is dead though no nemesis killed it; returns all deaths so far."""
        for node in nodes:
            with self._lock:
                expected = node in self.killed
            if not expected and self.dead(node):
                with self._lock:
                    self._died(node, "found dead at the end of the run")
        return self.deaths
