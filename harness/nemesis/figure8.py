"""crash-after-replicate: the Raft paper's Figure 8 as a sequence of partitions and crashes.

Figure 8 shows why a leader may count replicas only for entries of its own term: an entry of
an earlier term can sit on a majority and still be overwritten, if the leader that counted it
crashes before an entry of its own term is committed. One injection plays the sequence with
whatever writes the clients send meanwhile:

1. cut the leader off together with a few followers (a minority), so the writes it takes reach
   only them; the majority side elects a new leader;
2. kill the old leader; cut the new one off alone, so its own entries reach nobody; kill it;
3. restart the old leader and reconnect everyone but the dead new leader: the old leader (or
   another) is elected and may spread the old entries to a majority;
4. kill whoever leads now, restart the other dead leader and heal: it can win with its later-
   term entries and overwrite what the previous leader counted as committed.

Each step's nodes and the leader at that moment are recorded (`steps`).
"""

from __future__ import annotations

import time
from typing import Any

from harness.nemesis.grudges import grudge_of, isolate
from harness.nemesis.partition import PartitionNemesis
from harness.nemesis.process import revive
from harness.nemesis.steps import Steps
from harness.nemesis.targets import wait_leader


class CrashAfterReplicate:
    name = "crash-after-replicate"
    summary = ("Figure 8: cut the leader off with a minority, kill it, cut off and kill its successor, "
               "restart the first, then kill it and bring back the second")

    def __init__(self, c: Any, step_s: float = 0.8) -> None:
        """`c` is a `harness.nemesis.registry.Cluster` whose DB has Process and Primaries."""
        self.db = c.db
        self.nodes = c.nodes
        self.primaries = c.primaries
        self.rng = c.rng
        self.step_s = step_s
        self.partition = PartitionNemesis(c.remote, c.addresses, c.db.peer_port, c.rng)

    def inject(self) -> dict[str, Any]:
        steps = Steps()
        first = wait_leader(self.primaries, self.nodes)
        if not first:
            steps.note("no-leader")
            return {"kind": self.name, "nodes": [], "leader": None, "skipped": "no leader", "steps": steps.done}
        l1 = first[0]
        followers = [n for n in self.nodes if n != l1]
        minority = sorted([l1, *self.rng.sample(followers, (len(self.nodes) - 1) // 2 - 1)])
        majority = [n for n in self.nodes if n not in minority]
        self.partition.cut(grudge_of([minority, majority]))
        steps.note("cut-with-minority", nodes=minority, leader=l1)
        time.sleep(self.step_s)  # writes reach l1's minority only
        self.db.kill(l1)
        steps.note("kill", nodes=[l1])
        second = wait_leader(self.primaries, majority, timeout=5.0)
        l2 = second[0] if second else None
        steps.note("elected", leader=l2)
        killed = [l1]
        if l2 is not None:
            self.partition.heal()
            self.partition.cut(grudge_of(isolate(self.nodes, l2)))
            steps.note("isolate", nodes=[l2], leader=l2)
            time.sleep(self.step_s)  # l2's own entries stay on l2
            self.db.kill(l2)
            killed.append(l2)
            steps.note("kill", nodes=[l2])
        self.db.start(l1)
        steps.note("restart", nodes=[l1])
        third = wait_leader(self.primaries, [n for n in self.nodes if n != l2], timeout=5.0)
        l3 = third[0] if third else None
        steps.note("elected", leader=l3)
        time.sleep(self.step_s)  # l3 spreads what it has
        if l3 is not None and l2 is not None:
            self.db.kill(l3)
            killed.append(l3)
            steps.note("kill", nodes=[l3])
            self.partition.heal()
            self.db.start(l2)
            steps.note("restart", nodes=[l2])
            fourth = wait_leader(self.primaries, [n for n in self.nodes if n != l3], timeout=5.0)
            steps.note("elected", leader=fourth[0] if fourth else None)
        return {"kind": self.name, "nodes": sorted(set(killed) | set(minority)), "leader": l1,
                "leaders": [l1, l2, l3], "killed": killed, "steps": steps.done}

    def heal(self) -> dict[str, Any]:
        self.partition.heal()
        return {"kind": f"heal-{self.name}", **revive(self.db, self.nodes)}
