"""isolate-then-skew: cut the leader off from every other node, then set its wall clock back.

Going back stalls every timer a node keeps on the wall clock: a lease and the last acks it took
before the jump look fresh for as long as the skew, so a node that (wrongly) trusts the wall
clock does not step down and goes on answering reads from its own state while the majority
elects a new leader and commits new writes. The order matters: acks stamped after the jump
would age normally. A node that keeps time on the monotonic clock does not notice the skew.

The skew must land before the leader's check-quorum notices the cut (one election timeout, well
under a second), yet the cut and the skew are each a command run on the nodes, and on a loaded
machine the two can be seconds apart: the leader then steps down before its clock goes back and
the fault shows nothing. So the leader is paused (SIGSTOP) across both steps and resumed after:
whatever they take, it sees the cut and the jump at the same instant. A correct node is not
helped by the pause: on the monotonic clock the paused time counts, its lease is over and it
steps down at its first tick.
The event records the leader cut off, the offset asked and the offset measured on that node.
"""

from __future__ import annotations

from typing import Any

from harness.nemesis.clock import ClockNemesis
from harness.nemesis.grudges import grudge_of, isolate
from harness.nemesis.partition import PartitionNemesis
from harness.nemesis.process import revive
from harness.nemesis.steps import Steps
from harness.nemesis.targets import wait_leader

SKEW_S = -10.0


class IsolateThenSkew:
    name = "isolate-then-skew"
    summary = ("cut the leader off, then set its wall clock back 10 s, the leader paused across both "
               "(stale leases, missed step-downs)")

    def __init__(self, c: Any, skew_s: float = SKEW_S) -> None:
        """`c` is a `harness.nemesis.registry.Cluster` whose DB has Process, Primaries and the clock hook on."""
        self.db = c.db
        self.nodes = c.nodes
        self.primaries = c.primaries
        self.skew_s = skew_s
        self.clock = ClockNemesis(c.remote, c.db, self.nodes, c.rng)
        self.partition = PartitionNemesis(c.remote, c.addresses, c.db.peer_port, c.rng)

    def inject(self) -> dict[str, Any]:
        steps = Steps()
        leaders = wait_leader(self.primaries, self.nodes)
        if not leaders:
            steps.note("no-leader")
            return {"kind": self.name, "nodes": [], "leader": None, "skipped": "no leader", "steps": steps.done}
        leader = leaders[0]
        grudge = grudge_of(isolate(self.nodes, leader))
        self.db.pause(leader)
        steps.note("pause", nodes=[leader])
        try:
            self.partition.cut(grudge)
            steps.note("isolate", nodes=[leader], leader=leader)
            self.clock.set_offset(leader, self.skew_s)
            steps.note("skew", nodes=[leader], offset=self.skew_s)
        finally:
            self.db.resume(leader)
            steps.note("resume", nodes=[leader])
        return {"kind": self.name, "nodes": [leader], "leader": leader, "grudge": grudge, "offset": self.skew_s,
                "measured": {leader: self.clock.measure(leader)}, "probe": self.partition.probe(grudge),
                "steps": steps.done}

    def heal(self) -> dict[str, Any]:
        self.partition.heal()
        return {**self.clock.heal(), "processes": revive(self.db, self.nodes), "kind": f"heal-{self.name}"}
