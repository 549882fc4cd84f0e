"""isolate-then-skew: cut the leader off from every other node, then set its wall clock back.

Going back stalls every timer a node keeps on the wall clock: a lease and the last acks it took
before the jump look fresh for as long as the skew, so a node that (wrongly) trusts the wall
clock does not step down and goes on answering reads from its own state while the majority
elects a new leader and commits new writes. The order matters: acks stamped after the jump
would age normally. A node that keeps time on the monotonic clock does not notice the skew.

The jump must come after the cut but before the leader's check-quorum notices it (one election
timeout, under a second). As two remote commands, the cut and the jump were as much as a second
apart on a loaded machine, and the leader had stepped down before its clock went back. So the
leader's own side of the cut and its clock jump are one command on the leader, a short settle
apart (long enough for it to take the acks already in its socket buffers, which would otherwise
be stamped after the jump), and the other nodes' side of the cut follows. Pausing the leader
across two commands does not do: its followers campaign meanwhile, and their vote requests wait
in its buffers to depose it when it resumes.
The event records the leader cut off, the offset asked and the offset measured on that node.
"""

from __future__ import annotations

from typing import Any

from harness.nemesis.base import HealError
from harness.nemesis.clock import ClockNemesis
from harness.nemesis.grudges import grudge_of, isolate
from harness.nemesis.partition import PartitionNemesis
from harness.nemesis.steps import Steps
from harness.nemesis.targets import wait_leader

SKEW_S = -10.0
SETTLE_S = 0.2  # between the leader's cut and its jump: well inside check-quorum's window


class IsolateThenSkew:
    name = "isolate-then-skew"
    summary = "cut the leader off, then set its wall clock back 10 s (stale leases, missed step-downs)"

    def __init__(self, c: Any, skew_s: float = SKEW_S, settle_s: float = SETTLE_S) -> None:
        """`c` is a `harness.nemesis.registry.Cluster` whose DB has Process, Primaries and the clock hook on."""
        self.remote = c.remote
        self.settle_s = settle_s
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
        script = (f"{self.partition.cut_script(grudge, leader)} && sleep {self.settle_s:.3f} && "
                  f"{self.clock.offset_script(self.skew_s)}")
        r = self.remote.exec(leader, ["sh", "-c", script], timeout=30)
        if not r.ok:
            raise HealError(f"{leader}: cutting it off and setting its clock back failed: {r.stderr.strip()}")
        steps.note("isolate-and-skew", nodes=[leader], leader=leader, offset=self.skew_s, settle=self.settle_s)
        self.partition.cut({**grudge, leader: []})
        steps.note("isolate", nodes=sorted(n for n in grudge if n != leader))
        return {"kind": self.name, "nodes": [leader], "leader": leader, "grudge": grudge, "offset": self.skew_s,
                "measured": {leader: self.clock.measure(leader)}, "probe": self.partition.probe(grudge),
                "steps": steps.done}

    def heal(self) -> dict[str, Any]:
        self.partition.heal()
        return {**self.clock.heal(), "kind": f"heal-{self.name}"}
