"""crash-after-replicate: the Raft paper's Figure 8 as partitions, crashes and client phases.

Figure 8 shows why a leader may count replicas only for entries of its own term: an entry of
an earlier term can sit on a majority and still be overwritten, if the leader that counted it
crashes before an entry of its own term is on a majority. With clients writing all along that
never happens: the new leader's own writes reach the majority together with the old entries.
So the package also tells the clients what they may do (`harness.client_gate`), recording it:

1. cut the leader off with a few followers (a minority) and every other node alone, so nobody
   can be elected while the leader takes writes that reach its minority only (X); kill it;
2. clients only read; reconnect the rest (a majority) so one of them is elected (L2): no write
   of its term exists (a correct node's election no-op does reach the majority);
3. clients pause; cut L2 off alone, let clients write for a moment, so entries of its term
   reach L2 only (Z); pause the clients again and kill L2;
4. clients only read; restart the first leader and reconnect everyone but L2. Only a node
   holding X can win (the rest have older logs); it spreads X to a majority, and a node that
   counts replicas for old terms commits X without an entry of its own: reads then see X;
5. cut the rest off from the others, kill that leader and restart L2: among the rest, X's
   holders have older terms than Z, so L2 wins and overwrites X; clients may write again.

Each step's nodes, the leader at that moment and the client mode are recorded (`steps`).
"""

from __future__ import annotations

import time
from typing import Any

from harness.client_gate import ALL, NONE, READS
from harness.nemesis.grudges import grudge_of
from harness.nemesis.partition import PartitionNemesis
from harness.nemesis.process import revive
from harness.nemesis.steps import Steps
from harness.nemesis.targets import wait_leader


class CrashAfterReplicate:
    name = "crash-after-replicate"
    summary = ("Figure 8: the leader takes writes with a minority and is killed; the rest elect one that takes "
               "writes alone and is killed; the first is restarted and spreads its writes while clients only "
               "read; it is killed and the second comes back")

    def __init__(self, c: Any, write_s: float = 0.6, lone_write_s: float = 0.4, observe_s: float = 1.0,
                 settle_s: float = 5.0) -> None:
        """`c` is a `harness.nemesis.registry.Cluster` whose DB has Process and Primaries. The
        durations: writes to the cut-off leader's minority, writes to the lone L2, reads of what the
        restarted leader commits, and the longest wait for held-back client operations to end."""
        self.db = c.db
        self.nodes = c.nodes
        self.primaries = c.primaries
        self.rng = c.rng
        self.clients = c.clients
        self.write_s = write_s
        self.lone_write_s = lone_write_s
        self.observe_s = observe_s
        self.settle_s = settle_s
        self.partition = PartitionNemesis(c.remote, c.addresses, c.db.peer_port, c.rng)

    def _clients(self, steps: Steps, mode: str) -> None:
        self.clients.allow(mode)
        steps.note("clients", allow=mode, settled=self.clients.settle(self.settle_s))

    def _regroup(self, components: list[list[str]]) -> None:
        self.partition.regroup(grudge_of(components))

    def inject(self) -> dict[str, Any]:
        steps = Steps()
        out: dict[str, Any] = {"kind": self.name, "nodes": [], "leader": None, "leaders": [], "killed": []}
        try:
            self._play(steps, out)
        finally:
            if self.clients.mode != ALL:
                self._clients(steps, ALL)
        return {**out, "nodes": sorted(set(out["killed"]) | set(out["nodes"])), "steps": steps.done}

    def _play(self, steps: Steps, out: dict[str, Any]) -> None:
        first = wait_leader(self.primaries, self.nodes)
        if not first:
            steps.note("no-leader")
            out["skipped"] = "no leader"
            return
        l1 = first[0]
        followers = [n for n in self.nodes if n != l1]
        minority = sorted([l1, *self.rng.sample(followers, (len(self.nodes) - 1) // 2 - 1)])
        rest = [n for n in self.nodes if n not in minority]
        out.update(leader=l1, leaders=[l1], nodes=minority)
        self.partition.cut(grudge_of([minority, *([n] for n in rest)]))
        steps.note("cut-with-minority", nodes=minority, leader=l1)
        time.sleep(self.write_s)  # writes reach l1's minority only, and nobody else can be elected
        self.db.kill(l1)
        out["killed"].append(l1)
        steps.note("kill", nodes=[l1])

        self._clients(steps, READS)
        self._regroup([minority, rest])
        second = wait_leader(self.primaries, rest, timeout=5.0)
        l2 = second[0] if second else None
        out["leaders"].append(l2)
        steps.note("elected", nodes=rest, leader=l2)
        if l2 is None:
            return
        others = [n for n in rest if n != l2]
        self._clients(steps, NONE)
        self._regroup([minority, others, [l2]])
        steps.note("isolate", nodes=[l2], leader=l2)
        self.clients.allow(ALL)
        steps.note("clients", allow=ALL)
        time.sleep(self.lone_write_s)  # writes of l2's term reach l2 only
        self._clients(steps, NONE)
        self.db.kill(l2)
        out["killed"].append(l2)
        steps.note("kill", nodes=[l2])

        self._clients(steps, READS)
        self.db.start(l1)
        self._regroup([[n for n in self.nodes if n != l2], [l2]])
        steps.note("restart", nodes=[l1])
        third = wait_leader(self.primaries, [n for n in self.nodes if n != l2], timeout=5.0)
        l3 = third[0] if third else None
        out["leaders"].append(l3)
        steps.note("elected", leader=l3)
        if l3 is None:
            return
        time.sleep(self.observe_s)  # reads see what l3 commits
        # Cut the rest off first: X's holders left together after the kill would elect one of them.
        self._regroup([rest, [n for n in self.nodes if n not in rest]])
        self.db.kill(l3)
        out["killed"].append(l3)
        steps.note("kill", nodes=[l3])
        self.db.start(l2)
        steps.note("restart", nodes=[l2])
        fourth = wait_leader(self.primaries, rest, timeout=5.0)
        out["leaders"].append(fourth[0] if fourth else None)
        steps.note("elected", nodes=rest, leader=fourth[0] if fourth else None)

    def heal(self) -> dict[str, Any]:
        self.clients.allow(ALL)
        self.partition.heal()
        return {"kind": f"heal-{self.name}", **revive(self.db, self.nodes)}
