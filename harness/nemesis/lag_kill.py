"""lag-then-kill: cut some followers off briefly, kill the leader, and reconnect only the rest.

That is the situation where Raft's election restriction matters: followers that lag behind
race the up-to-date ones for the dead leader's place, and only the restriction stops a lagging
one from winning and overwriting entries the dead leader had committed. One injection:

1. cut a minority of the followers (one of three, two of five) off from everyone else, while
   the leader goes on committing writes with the rest;
2. kill the leader, and keep it cut off: its kernel keeps retransmitting what its sockets held,
   which would bring the lagging nodes up to date after its death;
3. pause the up-to-date followers for a moment and reconnect the lagging ones to them, so that a
   lagging node is the first to campaign (with the restriction, its votes are refused anyway);
4. resume them and see who is elected. If not a lagging node, restart the old leader, heal, and
   try again, up to `tries` times.

The event records each try: the leader killed, the lagging nodes, the nodes paused, the winner.
"""

from __future__ import annotations

import time
from typing import Any

from harness.nemesis.grudges import grudge_of, isolate
from harness.nemesis.parallel import on_nodes
from harness.nemesis.partition import PartitionNemesis
from harness.nemesis.process import revive
from harness.nemesis.steps import Steps
from harness.nemesis.targets import wait_leader


class LagThenKill:
    name = "lag-then-kill"
    summary = ("cut a minority of followers off briefly, kill the leader, reconnect only the rest; "
               "retried until a lagging node is elected (election restriction)")

    def __init__(self, c: Any, lag_s: float = 1.0, hold_s: float = 1.0, tries: int = 4) -> None:
        """`c` is a `harness.nemesis.registry.Cluster` whose DB has Process and Primaries."""
        self.db = c.db
        self.nodes = c.nodes
        self.primaries = c.primaries
        self.rng = c.rng
        self.lag_s = lag_s
        self.hold_s = hold_s
        self.tries = tries
        self.partition = PartitionNemesis(c.remote, c.addresses, c.db.peer_port, c.rng)

    def inject(self) -> dict[str, Any]:
        steps = Steps()
        attempts: list[dict[str, Any]] = []
        for _ in range(self.tries):
            leaders = wait_leader(self.primaries, self.nodes)
            if not leaders:
                steps.note("no-leader")
                break
            leader = leaders[0]
            followers = [n for n in self.nodes if n != leader]
            lagging = sorted(self.rng.sample(followers, (len(self.nodes) - 1) // 2))
            current = [n for n in followers if n not in lagging]
            self.partition.cut(grudge_of([lagging, [leader, *current]]))
            steps.note("lag", nodes=lagging, leader=leader)
            time.sleep(self.lag_s)  # the workload commits entries the lagging nodes never see
            self.db.kill(leader)
            steps.note("kill", nodes=[leader])
            self.partition.cut(grudge_of(isolate(self.nodes, leader)))
            on_nodes(current, self.db.pause)
            for a in lagging:
                for b in current:
                    self.partition.uncut(a, b)
            steps.note("reconnect", nodes=lagging + current, paused=current)
            time.sleep(self.hold_s)
            on_nodes(current, self.db.resume)
            steps.note("resume", nodes=current)
            winners = wait_leader(self.primaries, [n for n in self.nodes if n != leader], timeout=5.0)
            winner = winners[0] if winners else None
            steps.note("elected", leader=winner)
            attempts.append({"killed": leader, "lagging": lagging, "paused": current, "elected": winner,
                             "lagging_won": winner in lagging})
            self.partition.heal()
            if winner in lagging:
                break
            self.db.start(leader)  # back as a follower, for the next try
            steps.note("restart", nodes=[leader])
        nodes = sorted({a["killed"] for a in attempts} | {n for a in attempts for n in a["lagging"]})
        return {"kind": self.name, "nodes": nodes, "attempts": attempts,
                "lagging_won": any(a["lagging_won"] for a in attempts), "steps": steps.done}

    def heal(self) -> dict[str, Any]:
        self.partition.heal()
        return {"kind": f"heal-{self.name}", **revive(self.db, self.nodes)}
