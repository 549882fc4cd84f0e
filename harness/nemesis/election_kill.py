"""kill-during-election: kill the leader, then crash and restart voters while the election runs.

A voter that forgets whom it voted for (a vote not made durable before it is sent) can vote
again in the same term after a restart, and two candidates can then both win that term. The
window is short (between granting a vote and the winner's first append reaching the voter), so
one injection kills the leader and then, several times over, crashes a random subset of the
remaining nodes a moment after the election starts and restarts them at once, mid-election.
Short election timeouts and no pre-vote (`--db-opt pre-vote=false`) widen the window.
"""

from __future__ import annotations

import time
from typing import Any

from harness.nemesis.parallel import on_nodes
from harness.nemesis.process import revive
from harness.nemesis.steps import Steps
from harness.nemesis.targets import wait_leader


class KillDuringElection:
    name = "kill-during-election"
    summary = "kill the leader, then crash and at once restart random voters again and again while a new one is elected"

    def __init__(self, c: Any, rounds: int = 6, delay_s: tuple[float, float] = (0.05, 0.4)) -> None:
        """`c` is a `harness.nemesis.registry.Cluster` whose DB has Process and Primaries."""
        self.db = c.db
        self.nodes = c.nodes
        self.primaries = c.primaries
        self.rng = c.rng
        self.rounds = rounds
        self.delay_s = delay_s

    def _bounce(self, node: str) -> None:
        self.db.kill(node)
        self.db.start(node)

    def inject(self) -> dict[str, Any]:
        steps = Steps()
        killed: set[str] = set()
        for _ in range(self.rounds):
            leaders = wait_leader(self.primaries, self.nodes, timeout=2.0)
            if leaders:
                self.db.kill(leaders[0])
                killed.add(leaders[0])
                steps.note("kill", nodes=[leaders[0]], leader=leaders[0])
            time.sleep(self.rng.uniform(*self.delay_s))  # the election is under way
            rest = [n for n in self.nodes if n not in leaders[:1]]
            voters = sorted(self.rng.sample(rest, self.rng.randint(1, max(1, (len(rest) - 1) // 2 + 1))))
            on_nodes(voters, self._bounce)
            steps.note("bounce", nodes=voters)
            if leaders:
                self.db.start(leaders[0])
                steps.note("restart", nodes=[leaders[0]])
        return {"kind": self.name, "nodes": sorted(killed), "steps": steps.done}

    def heal(self) -> dict[str, Any]:
        return {"kind": f"heal-{self.name}", **revive(self.db, self.nodes)}
