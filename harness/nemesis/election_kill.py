"""kill-during-election: crash voters between their vote and the winner's first append, then let
the old leader campaign in the same term.

A voter that forgets whom it voted for (the vote not made durable before it is sent) can vote
again in the same term after a restart, and then two candidates can both win that term. In a
free-running cluster the window is about a millisecond (the winner's first append follows the
votes at once), far shorter than a crash can be aimed. One injection widens it:

1. slow every follower's outgoing peer traffic by `DELAY_MS` (400 ms; the NFQUEUE delayer, or netem),
   so that votes reach a candidate, and its first append reaches the voters, that much later
   (not much more: followers have no connections to each other yet, so each way of a vote
   starts with a delayed handshake; at 600 ms the first candidate's requests took over 2 s
   to arrive, and rival candidates split the vote); then kill the leader;
2. watch the election (status polling from the host, which the delay does not touch): as soon as
   a majority's worth of followers have moved to a candidate's term (they granted it), drop the
   candidate's packets to just enough of them for a second majority and to the old leader (one
   way: the votes already on their way still reach it, and it wins); remove the delay once it
   leads (the delayer releases what it holds);
3. restart the old leader while crashing those voters, then restart them after a head start
   (half the time the first candidate took to appear: below the shortest election timeout): the
   old leader's term is on disk and its log is the longest, so when its election timer runs out
   (first, most often: it started first) it campaigns in the candidate's term, and wins only
   with votes that were already given (a correct node remembers its vote and refuses);
4. let the candidate through to the voters as soon as the old leader has asked them (its
   requests are not delayed), and to the old leader once that one leads: two leaders of one
   term then share a majority through the double voters, both commit and serve clients, until
   a later term ends it. The candidate must hear from a majority again within its check-quorum
   window (the max election timeout) of its win, hence the hurry.

An aimed election can miss: about half split (another elector's timer runs out while the first
candidate's requests are delayed, and the term moves past the one to contest), and in about a
third of the rest a restarted voter's timer runs out before the old leader's. Each injection
therefore aims again at the next leader, up to `ATTEMPTS` elections, until one ends with two
leaders of a term (on a correct node, never: it always plays all of them).

Needs election timeouts well above the delay and the time a restart takes (the bug table uses
3000:9000 ms with the default 400 ms delay), or the nodes campaign before a request reaches
them. A set workload shows the result as acknowledged elements one leader's clients never see.
The event records the terms, the voters crashed, and every node claiming leadership of the
contested term (`same_term_leaders`: two of them is the bug at work).
"""

from __future__ import annotations

import shlex
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from harness.nemesis.base import HealError
from harness.nemesis.packet import PacketNemesis
from harness.nemesis.parallel import on_nodes
from harness.nemesis.partition import PartitionNemesis
from harness.nemesis.process import revive
from harness.nemesis.steps import Steps
from harness.nemesis.targets import wait_leader

DELAY_MS = 400  # how much the followers' outgoing peer traffic is slowed (600 ms split every election)
ATTEMPTS = 3  # elections aimed at in one injection, until one ends with two leaders of a term
WATCH_S = 30.0  # how long each step waits for the cluster (a candidate, a leader, a vote) before giving up


class KillDuringElection:
    name = "kill-during-election"
    summary = ("slow the followers' traffic, kill the leader, crash the voters right after they vote, and let "
               "the old leader campaign in the same term (forgotten votes); up to 3 elections, until two "
               "leaders share a term")

    def __init__(self, c: Any) -> None:
        """`c` is a `harness.nemesis.registry.Cluster` whose DB has Process and Primaries, and `statuses()`
        giving each node's role, term and, if it can, `voted_for` (without statuses the package still
        runs, but cannot aim the crash)."""
        self.db = c.db
        self.nodes = c.nodes
        self.primaries = c.primaries
        self.rng = c.rng
        self.packet = PacketNemesis(c.remote, c.addresses, c.db.peer_port, c.rng)
        self.partition = PartitionNemesis(c.remote, c.addresses, c.db.peer_port, c.rng)  # heals the one-way cut

    def _statuses(self, nodes: list[str] | None = None) -> dict[str, dict[str, Any]]:
        """Each answering node's own status, from `nodes` (default all), through the DB's status call,
        all nodes at once: one by one, a loaded host takes a good part of the vote's window to
        ask four nodes."""
        statuses = getattr(self.db, "statuses", None)
        if statuses is None:
            return {}
        answers = on_nodes(nodes if nodes is not None else self.nodes,
                           lambda n: statuses(timeout=1.0, nodes=[n]).get(n))
        return {n: s for n, s in answers.items() if s is not None}

    def _views(self, nodes: list[str] | None = None) -> dict[str, tuple[str | None, int | None]]:
        """Each answering node's (role, term)."""
        return {n: (s.get("role"), s.get("term")) for n, s in self._statuses(nodes).items()}

    def _drop(self, op: str, links: list[tuple[str, str]]) -> None:
        """Add (-A) or delete (-D) a one-way drop for each (sender, receiver), on the receiver (INPUT):
        that also catches what the sender's delayer still holds (a packet it releases resumes after
        the queue rule, past any drop added to the sender's own OUTPUT). One command per receiver,
        all at once."""
        addresses = self.packet.addresses
        by_node: dict[str, list[list[str]]] = {}
        for sender, receiver in links:
            by_node.setdefault(receiver, []).append(["iptables", "-w", "5", op, "INPUT", "-s", addresses[sender],
                                                     "-j", "DROP"])

        def one(node: str) -> None:
            script = " && ".join(shlex.join(rule) for rule in by_node[node])
            r = self.packet.remote.exec(node, ["sh", "-c", script], timeout=30)
            if not r.ok:
                raise HealError(f"{node}: {script} failed: {r.stderr.strip()}")

        on_nodes(sorted(by_node), one)

    def _voted(self, electors: list[str], term: int | None) -> tuple[str | None, int | None, list[str], float | None]:
        """Poll until a candidate in a term above `term` has a majority's worth of electors that
        granted it: followers at its term, and, where the status says whom a node voted for
        (`voted_for`), voting for it (two candidates of one term split the followers between
        them); returns the candidate, its term, those voters, and how long after the call the
        first candidate showed up (about the shortest election timeout the nodes drew).

        Gives up (no candidate) as soon as any elector passes the term after `term`: the old
        leader's next campaign is in that term, so a later contested term (the first election
        split) leaves it nothing to contest, and waiting on would only waste the run."""
        start = time.monotonic()
        deadline = start + WATCH_S
        first: float | None = None
        needed = len(self.nodes) // 2  # votes besides the candidate's own

        def granted(s: dict[str, Any] | None, candidate: str, t: int) -> bool:
            return (s is not None and (s.get("role"), s.get("term")) == ("follower", t)
                    and s.get("voted_for", candidate) == candidate)

        while time.monotonic() < deadline:
            views = self._statuses(electors)
            if term is not None and any((s.get("term") or 0) > term + 1 for s in views.values()):
                break
            for node, s in views.items():
                t = s.get("term")
                if node in electors and s.get("role") == "candidate" and t is not None and (term is None or t > term):
                    first = first if first is not None else time.monotonic() - start
                    voters = [n for n in electors if n != node and granted(views.get(n), node, t)]
                    if len(voters) >= needed:
                        return node, t, voters, first
            time.sleep(0.03)
        return None, None, [], first

    def inject(self) -> dict[str, Any]:
        steps = Steps()
        killed: list[str] = []
        for attempt in range(1, ATTEMPTS + 1):
            if attempt > 1:
                self.packet.heal()  # the next leader may be one of the delayed electors
                steps.note("retry", attempt=attempt)
            leaders = wait_leader(self.primaries, self.nodes) if attempt == 1 else self._settled_leader()
            if not leaders:
                steps.note("no-leader")
                if attempt == 1:
                    return {"kind": self.name, "nodes": [], "leader": None, "skipped": "no leader",
                            "steps": steps.done}
                break
            old = leaders[0]
            before, candidate, term, voters, first_s = self._aim(steps, old)
            aimed = attempt
            killed.append(old)
            if candidate is None:
                self.db.start(old)
                steps.note("restart", nodes=[old])
            else:
                voters = voters[: len(self.nodes) // 2]  # just enough for a second majority: fewer rival timers
                killed += voters
                self._contest(steps, old, candidate, term, voters, first_s)
            seen = self._views()
            same_term = sorted(n for n, (role, t) in seen.items()
                               if role == "leader" and t == term and term is not None)
            steps.note("leaders", claims={n: t for n, (role, t) in seen.items() if role == "leader"})
            if len(same_term) > 1:
                break
        return {"kind": self.name, "nodes": sorted(set(killed)), "leader": old, "candidate": candidate,
                "term_before": before, "term": term, "voters": voters, "same_term_leaders": same_term,
                "attempts": aimed, "steps": steps.done}

    def _settled_leader(self) -> list[str]:
        """[the leader] once every node answers and all are at its term (a missed attempt leaves
        elections going on; aiming at a leader elected a moment ago meets rivals at once), or []
        after WATCH_S. Without statuses, the leader the DB names."""
        if getattr(self.db, "statuses", None) is None:
            return wait_leader(self.primaries, self.nodes, timeout=WATCH_S)
        deadline = time.monotonic() + WATCH_S
        while time.monotonic() < deadline:
            views = self._views()
            leaders = [n for n, (role, _) in views.items() if role == "leader"]
            if len(views) == len(self.nodes) and len(leaders) == 1 and len({t for _, t in views.values()}) == 1:
                return leaders
            time.sleep(0.2)
        return []

    def _contest(self, steps: Steps, old: str, candidate: str, term: int, voters: list[str],
                 first_s: float | None) -> None:
        """Crash the voters while the candidate's first append is held, and let the restarted old
        leader campaign in the candidate's term (steps 2-4 of the module docstring)."""
        # The mute first, alone: it is the step with a deadline (the candidate's first append is
        # on its way), and the kills or the undelay's heal would hold the voters' standing
        # shells, sending it through a fresh exec (seconds on a loaded host); an undelay before
        # it would also release that append at once. Then the voters are crashed while the old
        # leader restarts, so its election timer starts before theirs.
        self._mute(steps, candidate, [*voters, old])
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="nemesis-undelay") as pool:
            undelayed = pool.submit(self._undelay_once_decided, candidate, term)
            on_nodes([old, *voters], lambda n: self._restart_muted(steps, candidate, old)
                     if n == old else self.db.kill(n))
            steps.note("kill", nodes=voters)
            self._head_start(steps, old, term, first_s)
            on_nodes(voters, self.db.start)
            steps.note("restart", nodes=voters)
            steps.note("undelay", nodes=[n for n in self.nodes if n != old], candidate_led=undelayed.result())
        self._second_election(steps, old, candidate, term, voters)

    def _aim(self, steps: Steps, old: str) -> tuple[int | None, str | None, int | None, list[str], float | None]:
        """Delay the electors' traffic, kill the leader `old` and watch for a candidate that has won
        its votes; returns `old`'s term and what `_voted` saw (no candidate: the election split)."""
        electors = [n for n in self.nodes if n != old]
        params = {"delay_ms": DELAY_MS, "jitter_ms": 0}
        mechanisms = on_nodes(electors, lambda n: self.packet.apply(n, "delay", params, 0))
        steps.note("delay", nodes=electors, delay_ms=DELAY_MS, mechanism=mechanisms)
        # The old leader's term: its own word, or (it may be too busy to answer in time on a loaded
        # host) its followers', which is the same term.
        views = self._views()
        before = views.get(old, (None, None))[1] or max((t for _, t in views.values() if t is not None), default=None)
        self.db.kill(old)
        steps.note("kill", nodes=[old], leader=old, term=before)
        candidate, term, voters, first_s = self._voted(electors, before)
        steps.note("voted", leader=candidate, term=term, nodes=voters, first_candidate_s=first_s)
        return before, candidate, term, voters, first_s

    def _mute(self, steps: Steps, candidate: str, nodes: list[str]) -> None:
        """Drop the candidate's packets to the voters and the old leader while its first append is
        still in the delayer (it would put the contested term in the voters' logs, and they would
        refuse the old leader; the old leader would follow it); the votes already on their way
        back still reach it, and it wins."""
        self._drop("-A", [(candidate, n) for n in nodes])
        steps.note("mute", nodes=[candidate], to=nodes)

    def _restart_muted(self, steps: Steps, candidate: str, old: str) -> None:
        self.db.start(old)
        steps.note("restart", nodes=[old], muted=candidate)

    def _head_start(self, steps: Steps, old: str, term: int, first_s: float | None) -> None:
        """Keep the voters down a while after the old leader is back: whichever restarted node's
        election timer runs out first campaigns, and a voter that does so first moves past the
        contested term and refuses the old leader. Each restarted node draws its timeout afresh,
        so a head start of h makes the old leader first more often (uniform draws from 3-9 s:
        38% of the time with 0.3 s, 66% with 2 s). The voters must still be up before the old
        leader's earliest timeout (its request is sent once), so h is half the time the first
        candidate took to show up after the kill (near the shortest timeout).
        Ends early once the old leader campaigns."""
        head = (first_s or 0.0) / 2
        deadline = time.monotonic() + head
        while time.monotonic() < deadline:
            role, t = self._views([old]).get(old, (None, None))
            if role == "candidate" or (t is not None and t >= term):
                break
            time.sleep(0.03)
        steps.note("head-start", nodes=[old], planned_s=round(head, 3))

    def _undelay_once_decided(self, candidate: str, term: int) -> bool:
        """Remove the delay once the candidate has won or lost (the delayer releases what it holds,
        so no vote is lost); returns whether it leads. From here on the delay would only slow the
        race against the candidate's check-quorum."""
        deadline = time.monotonic() + WATCH_S
        view = self._views([candidate]).get(candidate)
        while time.monotonic() < deadline and view in (("candidate", term), None):
            time.sleep(0.03)  # still counting votes (or not answering): wait
            view = self._views([candidate]).get(candidate)
        self.packet.heal()
        return view == ("leader", term)

    def _second_election(self, steps: Steps, old: str, candidate: str, term: int, voters: list[str]) -> None:
        """Watch the old leader campaign, and let the candidate through again as early as is safe.

        The candidate steps down (check-quorum) one max election timeout after its win unless a
        majority acknowledges it, so every second it stays muted narrows the time two leaders
        overlap. Its link to the voters reopens once the old leader's vote requests have gone out
        (it is a candidate, or leads, in the contested term): they are not delayed, the
        candidate's appends are. Its link to the old leader reopens once that one leads: before
        that, an append of the contested term would make it a follower."""
        deadline = time.monotonic() + WATCH_S
        unmuted: list[str] = []
        while time.monotonic() < deadline:
            role, t = self._views([old]).get(old, (None, None))
            if t is not None and t > term:
                break  # a later election: the contested term is over
            if t == term and role in ("candidate", "leader") and not unmuted:
                self._drop("-D", [(candidate, v) for v in voters])
                unmuted = list(voters)
                steps.note("unmute", nodes=[candidate], to=unmuted, old_leader=role)
            if t == term and role == "leader":
                break
            time.sleep(0.03)
        self.partition.heal()
        steps.note("unmute", nodes=[candidate], to=[n for n in [*voters, old] if n not in unmuted])

    def heal(self) -> dict[str, Any]:
        packet = self.packet.heal()
        self.partition.heal()
        return {"kind": f"heal-{self.name}", **revive(self.db, self.nodes), "packet": packet.get("verified")}
