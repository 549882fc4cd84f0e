"""kill-during-election: win an election, crash the voters, and run a rival election in the same term.

A voter that forgets whom it voted for (the vote not made durable before it is sent) can vote
again in the same term after a restart, and then two candidates can both win that term. The
window is tiny in a free-running cluster (between granting a vote and the rival's request), so
one injection makes it wide:

1. freeze a rival at the current term: pause one follower (with 5 or more nodes), or, with 3,
   use the leader about to be killed (its term is on disk);
2. kill the leader; the others elect a new one in the next term (recorded with its term);
3. cut the new leader off alone, and crash and restart at once every node that could have voted
   for it: a correct node remembers its vote, a buggy one forgets it;
4. wake the rival (resume it, or restart the old leader): it campaigns in the same term, and wins
   it only with votes that were already given to the new leader.

The event records the terms, the voters crashed, and every node that claimed leadership of the
same term (`same_term_leaders`). Best with short election timeouts and no pre-vote.
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


class KillDuringElection:
    name = "kill-during-election"
    summary = ("kill the leader; once a successor wins, cut it off, crash and restart its voters, and wake a "
               "rival frozen at the old term to campaign in the same term (forgotten votes)")

    def __init__(self, c: Any, settle_s: float = 1.5) -> None:
        """`c` is a `harness.nemesis.registry.Cluster` whose DB has Process and Primaries."""
        self.db = c.db
        self.nodes = c.nodes
        self.primaries = c.primaries
        self.rng = c.rng
        self.settle_s = settle_s
        self.partition = PartitionNemesis(c.remote, c.addresses, c.db.peer_port, c.rng)

    def _terms(self) -> dict[str, tuple[str | None, int | None]]:
        statuses = getattr(self.db, "statuses", None)
        if statuses is None:
            return {}
        return {n: (s.get("role"), s.get("term")) for n, s in statuses(timeout=0.5).items()}

    def _bounce(self, node: str) -> None:
        self.db.kill(node)
        self.db.start(node)

    def inject(self) -> dict[str, Any]:
        steps = Steps()
        leaders = wait_leader(self.primaries, self.nodes)
        if not leaders:
            steps.note("no-leader")
            return {"kind": self.name, "nodes": [], "leader": None, "skipped": "no leader", "steps": steps.done}
        old = leaders[0]
        before = self._terms().get(old, (None, None))[1]
        followers = [n for n in self.nodes if n != old]
        rival = self.rng.choice(followers) if len(self.nodes) >= 5 else old
        if rival != old:
            self.db.pause(rival)
            steps.note("pause", nodes=[rival])
        self.db.kill(old)
        steps.note("kill", nodes=[old], leader=old, term=before)
        electors = [n for n in followers if n != rival]
        new = wait_leader(self.primaries, electors, timeout=5.0)
        winner = new[0] if new else None
        term = self._terms().get(winner, (None, None))[1] if winner else None
        steps.note("elected", leader=winner, term=term)
        voters = [n for n in electors if n != winner]
        if winner is not None:
            self.partition.cut(grudge_of(isolate(self.nodes, winner)))
            steps.note("isolate", nodes=[winner])
            on_nodes(voters, self._bounce)
            steps.note("bounce", nodes=voters)
        if rival == old:
            self.db.start(old)
            steps.note("restart", nodes=[old])
        else:
            self.db.resume(rival)
            steps.note("resume", nodes=[rival])
        time.sleep(self.settle_s)  # the rival campaigns
        seen = self._terms()
        same_term = sorted(n for n, (role, t) in seen.items() if role == "leader" and t == term)
        steps.note("leaders", claims={n: t for n, (role, t) in seen.items() if role == "leader"})
        return {"kind": self.name, "nodes": sorted({old, rival, *voters} | ({winner} if winner else set())),
                "leader": old, "rival": rival, "elected": winner, "term_before": before, "term": term,
                "voters": voters, "same_term_leaders": same_term, "steps": steps.done}

    def heal(self) -> dict[str, Any]:
        self.partition.heal()
        return {"kind": f"heal-{self.name}", **revive(self.db, self.nodes)}
