"""kill-during-election: crash voters between their vote and the winner's first append, then let
the old leader campaign in the same term.

A voter that forgets whom it voted for (the vote not made durable before it is sent) can vote
again in the same term after a restart, and then two candidates can both win that term. In a
free-running cluster the window is about a millisecond (the winner's first append follows the
votes at once), far shorter than a crash can be aimed. One injection widens it:

1. slow every follower's outgoing peer traffic by `delay_ms` (the NFQUEUE delayer, or netem),
   so that votes reach a candidate, and its first append reaches the voters, that much later;
   then kill the leader;
2. watch the election (status polling from the host, which the delay does not touch): as soon as
   a majority's worth of followers have moved to a candidate's term (they granted it), kill them,
   and drop the candidate's packets to them and to the old leader (one way: the votes already
   on their way still reach it, and it wins);
3. restart the old leader, then the voters: the old leader's term is on disk and its log is the
   longest, so when its election timer runs out it campaigns in the candidate's term, and wins
   only with votes that were already given (a correct node remembers its vote and refuses);
4. once it leads, let the candidate's packets through again: two leaders of one term then serve
   clients side by side until one of them steps down or the heal, which removes the delay and
   restarts whatever is down.

Needs election timeouts well above the delay and the time a restart takes (the bug table uses
3000:6000 ms with a 400 ms delay), or the nodes campaign before a request reaches them. The
event records the terms, the voters crashed, and every node claiming leadership of the
contested term (`same_term_leaders`: two of them is the bug at work).
"""

from __future__ import annotations

import time
from typing import Any

from harness.nemesis.base import HealError
from harness.nemesis.packet import PacketNemesis
from harness.nemesis.parallel import on_nodes
from harness.nemesis.partition import PartitionNemesis
from harness.nemesis.process import revive
from harness.nemesis.steps import Steps
from harness.nemesis.targets import wait_leader


class KillDuringElection:
    name = "kill-during-election"
    summary = ("slow the followers' traffic, kill the leader, crash the voters right after they vote, and let "
               "the old leader campaign in the same term (forgotten votes)")

    def __init__(self, c: Any, delay_ms: int = 400, watch_s: float = 12.0) -> None:
        """`c` is a `harness.nemesis.registry.Cluster` whose DB has Process and Primaries, and `statuses()`
        giving each node's role and term (without it the package still runs, but cannot aim the crash)."""
        self.db = c.db
        self.nodes = c.nodes
        self.primaries = c.primaries
        self.rng = c.rng
        self.delay_ms = delay_ms
        self.watch_s = watch_s
        self.packet = PacketNemesis(c.remote, c.addresses, c.db.peer_port, c.rng)
        self.partition = PartitionNemesis(c.remote, c.addresses, c.db.peer_port, c.rng)  # heals the one-way cut

    def _views(self, nodes: list[str] | None = None) -> dict[str, tuple[str | None, int | None]]:
        """Each answering node's (role, term), from `nodes` (default all) through the DB's own status call."""
        statuses = getattr(self.db, "statuses", None)
        if statuses is None:
            return {}
        return {n: (s.get("role"), s.get("term")) for n, s in statuses(timeout=0.3, nodes=nodes).items()}

    def _drop(self, op: str, links: list[tuple[str, str]]) -> None:
        """Add (-A) or delete (-D) a one-way drop for each (sender, receiver): the receiver drops what
        the sender sends it (INPUT), and the sender drops what it would send (OUTPUT)."""
        addresses = self.packet.addresses
        rules = [(s, ["iptables", "-w", "5", op, "OUTPUT", "-d", addresses[r], "-j", "DROP"]) for s, r in links]
        rules += [(r, ["iptables", "-w", "5", op, "INPUT", "-s", addresses[s], "-j", "DROP"]) for s, r in links]
        by_node: dict[str, list[list[str]]] = {}
        for node, rule in rules:
            by_node.setdefault(node, []).append(rule)

        def one(node: str) -> None:
            for rule in by_node[node]:
                r = self.packet.remote.exec(node, rule, timeout=30)
                if not r.ok:
                    raise HealError(f"{node}: {' '.join(rule)} failed: {r.stderr.strip()}")

        on_nodes(sorted(by_node), one)

    def _voted(self, electors: list[str], term: int | None) -> tuple[str | None, int | None, list[str]]:
        """Poll until a candidate in a term above `term` has a majority's worth of electors at its
        term (they granted it); returns the candidate, its term, and those voters."""
        deadline = time.monotonic() + self.watch_s
        needed = len(self.nodes) // 2  # votes besides the candidate's own
        while time.monotonic() < deadline:
            views = self._views(electors)
            for node, (role, t) in views.items():
                if node in electors and role == "candidate" and t is not None and (term is None or t > term):
                    voters = [n for n in electors if n != node and views.get(n, (None, None)) == ("follower", t)]
                    if len(voters) >= needed:
                        return node, t, voters
            time.sleep(0.03)
        return None, None, []

    def inject(self) -> dict[str, Any]:
        steps = Steps()
        leaders = wait_leader(self.primaries, self.nodes)
        if not leaders:
            steps.note("no-leader")
            return {"kind": self.name, "nodes": [], "leader": None, "skipped": "no leader", "steps": steps.done}
        old = leaders[0]
        electors = [n for n in self.nodes if n != old]
        params = {"delay_ms": self.delay_ms, "jitter_ms": 0}
        mechanisms = on_nodes(electors, lambda n: self.packet.apply(n, "delay", params, 0))
        steps.note("delay", nodes=electors, delay_ms=self.delay_ms, mechanism=mechanisms)
        before = self._views([old]).get(old, (None, None))[1]
        self.db.kill(old)
        steps.note("kill", nodes=[old], leader=old, term=before)
        candidate, term, voters = self._voted(electors, before)
        steps.note("voted", leader=candidate, term=term, nodes=voters)
        if candidate is not None:
            on_nodes(voters, self.db.kill)  # first: the candidate's first append is on its way
            steps.note("kill", nodes=voters)
            # Its appends must not reach the voters nor the old leader before the old leader's own
            # request does; its votes, already on their way back, still reach it.
            self._drop("-A", [(candidate, n) for n in [*voters, old]])
        self.db.start(old)  # first, so that its election timer runs out before the voters'
        steps.note("restart", nodes=[old], muted=candidate)
        on_nodes(voters, self.db.start)
        steps.note("restart", nodes=voters)
        deadline = time.monotonic() + self.watch_s
        while time.monotonic() < deadline and self._views([old]).get(old, (None, None))[0] != "leader":
            time.sleep(0.03)  # the old leader campaigns; the delayed votes reach the candidate
        # Let the candidate through again: if both won, two leaders of one term now serve clients.
        self.partition.heal()
        steps.note("unmute", nodes=[candidate] if candidate else [])
        seen = self._views()
        same_term = sorted(n for n, (role, t) in seen.items() if role == "leader" and t == term and term is not None)
        steps.note("leaders", claims={n: t for n, (role, t) in seen.items() if role == "leader"})
        return {"kind": self.name, "nodes": sorted({old, *voters}), "leader": old, "candidate": candidate,
                "term_before": before, "term": term, "voters": voters, "same_term_leaders": same_term,
                "steps": steps.done}

    def heal(self) -> dict[str, Any]:
        packet = self.packet.heal()
        self.partition.heal()
        return {"kind": f"heal-{self.name}", **revive(self.db, self.nodes), "packet": packet.get("verified")}
