"""Hypothesis-driven simulation of the pure Raft core under an adversarial network.

Hypothesis chooses the schedule: clock ticks, which in-flight message to
deliver next, drops, duplicates, partitions, crashes and restarts (also right
after a node handled a message, or right after a leader replicated a write to
some of its peers), client writes and reads. After every step the Raft safety
properties are checked: election safety, log matching, leader completeness,
state machine safety, plus linearizability of reads (a read never misses an
entry that was committed before it started). The same machine, run with a
seeded bug, must find a counterexample.

Each example first draws which fault families it uses (swarm testing: an
example with crashes only, and prompt delivery, reaches deep crash histories
like Raft's Figure 8 that message chaos would keep interrupting) and whether
the cluster runs pre-vote.

CI runs ``1_500`` examples per configuration with a fixed seed
(``derandomize``), so failures reproduce, and shrinks any failure to a
minimal schedule. For a deeper (nightly) run, scale every example count by
setting ``RAFT_SIM_EXAMPLES``, e.g. ``RAFT_SIM_EXAMPLES=20`` for 30,000
examples per configuration.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, reject, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from raft_sim import MessageStorm, SimCluster

from nodes.raft.core import CORE_BUGS, Config, Core, Ready, Role
from nodes.raft.messages import Entry

pytestmark = pytest.mark.timeout(900)

TIMING = {"election_timeout": (150.0, 300.0), "heartbeat": 30.0}
PINNABLE = {"size", "lag", "pre_vote", "faults"}  # setup draws a hunt may fix
SCALE = float(os.environ.get("RAFT_SIM_EXAMPLES", "1"))

# Fault families an example may use; the clock and clients are always there.
FAULTS = ("network", "crash", "partition", "disk", "elections")
# Time a crash or restart may be followed by, with prompt delivery: long enough for an election
# (or two), so a crash history such as Raft's Figure 8 takes a handful of steps, not dozens.
SETTLE = st.sampled_from([0.0, 600.0])


class RaftMachine(RuleBasedStateMachine):
    """One simulated cluster per example; subclasses pick the core configuration."""

    config = Config(**TIMING)
    pins: dict[str, Any] = {}  # setup draws that this machine fixes instead

    def __init__(self) -> None:
        super().__init__()
        self.sim: SimCluster
        self.faults: frozenset[str] = frozenset()
        self.leader_of_term: dict[int, str] = {}
        self.committed: list[Entry] = []  # entry i is committed[i - 1]
        self.committed_in: list[int] = []  # term of the node that first applied each entry
        self.read_floor: dict[int, int] = {}  # read ctx -> highest committed index when it started
        self.next_value = 0
        self.reads_started = 0
        self.crashed: list[str] = []  # down nodes, oldest crash first

    # ----- setup and observation -------------------------------------------------

    @initialize(
        size=st.sampled_from([3, 3, 5]),
        seed=st.integers(0, 2**32 - 1),
        lag=st.booleans(),
        pre_vote=st.booleans(),
        faults=st.sets(st.sampled_from(FAULTS), min_size=1),
    )
    def setup(self, **drawn: Any) -> None:
        """Build the cluster from the example's draws (a hunt may pin some, see HUNTS).

        lag: a leader sends before its own log write completes (complete_persist finishes it).
        Without pre-vote, rival candidates in one term are common (forget-vote needs them).
        """
        choice = {**drawn, **self.pins}
        self.faults = frozenset(choice["faults"])
        config = replace(self.config, pre_vote=choice["pre_vote"])
        self.sim = SimCluster(size=choice["size"], seed=choice["seed"], config=config, lag=choice["lag"])
        self.sim.observers.append(self.observe)

    def observe(self, nid: str, ready: Ready) -> None:
        if ready.snapshot is not None:
            for index, entry in ready.snapshot.data:
                self._applied(nid, index, entry, "snapshot safety")
        for index, entry in ready.committed:
            self._applied(nid, index, entry, "state machine safety")
        for ctx, index in ready.reads:
            floor = self.read_floor.pop(ctx)
            assert index >= floor, f"stale read on {nid}: read index {index} < committed {floor}"

    def _applied(self, nid: str, index: int, entry: Entry, what: str) -> None:
        if index <= len(self.committed):
            known = self.committed[index - 1]
            assert known == entry, f"{what}: {nid} applied {entry} at {index}, others {known}"
            return
        assert index == len(self.committed) + 1, f"{what}: {nid} applied {index} before {len(self.committed) + 1}"
        self.committed.append(entry)
        self.committed_in.append(self.sim.core(nid).term)

    def live(self) -> list[str]:
        return [n for n, c in self.sim.nodes.items() if c is not None]

    def leaders(self) -> list[str]:
        return [n for n, c in self.sim.nodes.items() if c is not None and c.role is Role.LEADER]

    def leaders_first(self) -> list[str]:
        """Live nodes, leaders first: small picks (which hypothesis favours) hit the leader."""
        return sorted(self.live(), key=lambda n: self.sim.core(n).role is not Role.LEADER)

    def down(self, nid: str) -> None:
        self.sim.crash(nid)
        if nid not in self.crashed:
            self.crashed.append(nid)

    def reboot_node(self, nid: str) -> None:
        self.sim.crash(nid)
        self.sim.start(nid)
        if nid in self.crashed:
            self.crashed.remove(nid)

    def settle(self, duration: float) -> None:
        """Let time pass with prompt delivery."""
        try:
            self.sim.run(duration, step=10.0)
        except MessageStorm:
            if not self.sim.config.bugs:
                raise
            reject()  # a seeded bug may break liveness too (a leader resending forever); hunts look for safety

    # ----- rules: time and clients -------------------------------------------------

    @rule(dt=st.sampled_from([1.0, 10.0, 50.0, 150.0]))
    def tick(self, dt: float) -> None:
        self.sim.tick(dt)

    @rule(duration=st.sampled_from([20.0, 50.0, 100.0, 200.0, 400.0]))
    def run(self, duration: float) -> None:
        """Let time pass with prompt delivery, so elections and commits actually happen."""
        self.settle(duration)

    @precondition(lambda self: self.leaders())
    @rule(pick=st.integers(0, 4))
    def write(self, pick: int) -> None:
        leaders = self.leaders()
        self.next_value += 1
        self.sim.propose(leaders[pick % len(leaders)], {"op": "write", "key": "k", "value": self.next_value})

    @precondition(lambda self: self.leaders())
    @rule(pick=st.integers(0, 4))
    def read(self, pick: int) -> None:
        leaders = self.leaders()
        nid = leaders[pick % len(leaders)]
        self.reads_started += 1
        ctx = self.reads_started
        self.read_floor[ctx] = len(self.committed)
        self.sim.core(nid).read(ctx, self.sim.now)
        self.sim.flush(nid)

    # ----- rules: the network ------------------------------------------------------

    @precondition(lambda self: "network" in self.faults and self.sim.in_flight)
    @rule(pick=st.integers(0, 2**16))
    def deliver_one(self, pick: int) -> None:
        self.sim.deliver(self.sim.in_flight.pop(pick % len(self.sim.in_flight)))

    @precondition(lambda self: "network" in self.faults and self.sim.in_flight)
    @rule()
    def deliver_all(self) -> None:
        for _ in range(2000):
            if not self.sim.in_flight:
                break
            self.sim.deliver(self.sim.in_flight.pop(0))

    @precondition(lambda self: "network" in self.faults and self.sim.in_flight)
    @rule(src=st.integers(0, 4), dst=st.integers(0, 4))
    def deliver_link(self, src: int, dst: int) -> None:
        """Deliver what is in flight on one link only, e.g. one candidate's request to one voter."""
        link = (self.sim.ids[src % len(self.sim.ids)], self.sim.ids[dst % len(self.sim.ids)])
        on_link = [m for m in self.sim.in_flight if (m.src, m.dst) == link]
        self.sim.in_flight = [m for m in self.sim.in_flight if (m.src, m.dst) != link]
        for msg in on_link:
            self.sim.deliver(msg)

    @precondition(lambda self: "network" in self.faults and self.sim.in_flight)
    @rule(pick=st.integers(0, 2**16))
    def drop(self, pick: int) -> None:
        self.sim.in_flight.pop(pick % len(self.sim.in_flight))

    @precondition(lambda self: "network" in self.faults and self.sim.in_flight)
    @rule(pick=st.integers(0, 2**16))
    def duplicate(self, pick: int) -> None:
        self.sim.in_flight.append(self.sim.in_flight[pick % len(self.sim.in_flight)])

    @precondition(lambda self: "partition" in self.faults)
    @rule(side=st.sets(st.integers(0, 4), min_size=1, max_size=2))
    def partition(self, side: set[int]) -> None:
        group = {self.sim.ids[i % len(self.sim.ids)] for i in side}
        self.sim.heal()
        for a in group:
            for b in self.sim.ids:
                if b not in group:
                    self.sim.cut |= {(a, b), (b, a)}

    @precondition(lambda self: "partition" in self.faults)
    @rule()
    def heal(self) -> None:
        self.sim.heal()

    # ----- rules: crashes ----------------------------------------------------------

    @precondition(lambda self: "crash" in self.faults and len(self.live()) > 1)
    @rule(pick=st.integers(0, 4), lose_sends=st.booleans(), settle=SETTLE)
    def crash(self, pick: int, lose_sends: bool, settle: float) -> None:
        """Crash a node (most often the leader); with lose_sends, what it had not yet sent dies with it."""
        nid = self.leaders_first()[pick % len(self.live())]
        self.down(nid)
        if lose_sends:
            self.sim.in_flight = [m for m in self.sim.in_flight if m.src != nid]
        self.settle(settle)

    @precondition(lambda self: "crash" in self.faults and len(self.live()) > 1 and self.leaders())
    @rule(pick=st.integers(0, 4), reach=st.sets(st.integers(0, 4), max_size=2), settle=SETTLE)
    def crash_after_write(self, pick: int, reach: set[int], settle: float) -> None:
        """A leader appends a write, replicates it to only some peers (maybe none) and crashes.

        Repeated, this is Raft's Figure 8: entries of old terms left on part of the cluster.
        """
        leaders = self.leaders()
        nid = leaders[pick % len(leaders)]
        self.next_value += 1
        self.sim.propose(nid, {"op": "write", "key": "k", "value": self.next_value})
        self.down(nid)
        peers = {self.sim.ids[i % len(self.sim.ids)] for i in reach}
        sent = [m for m in self.sim.in_flight if m.src == nid]
        self.sim.in_flight = [m for m in self.sim.in_flight if m.src != nid]
        for msg in sent:
            if msg.dst in peers:
                self.sim.deliver(msg)
        self.settle(settle)

    @precondition(lambda self: "crash" in self.faults and self.sim.in_flight)
    @rule(pick=st.integers(0, 2**16))
    def deliver_then_reboot(self, pick: int) -> None:
        """A node handles one message (its reply goes out) and is killed and restarted at once.

        Whatever it promised in that reply must have been durable: a granted vote, an ack.
        """
        msg = self.sim.in_flight.pop(pick % len(self.sim.in_flight))
        self.sim.deliver(msg)
        if self.sim.nodes[msg.dst] is not None:
            self.reboot_node(msg.dst)

    @precondition(lambda self: "crash" in self.faults)
    @rule(pick=st.integers(0, 4))
    def reboot(self, pick: int) -> None:
        """Crash and restart at once: only durable state survives."""
        self.reboot_node(self.sim.ids[pick % len(self.sim.ids)])

    @precondition(lambda self: "crash" in self.faults and self.crashed)
    @rule(pick=st.integers(0, 4), settle=SETTLE)
    def restart(self, pick: int, settle: float) -> None:
        """Restart a down node, most often the one that has been down longest."""
        self.sim.start(self.crashed.pop(pick % len(self.crashed)))
        self.settle(settle)

    # ----- rules: disks and timers -------------------------------------------------

    @precondition(lambda self: "disk" in self.faults and any(self.sim.unpersisted.values()))
    @rule(pick=st.integers(0, 4))
    def complete_persist(self, pick: int) -> None:
        """A node's own pending log write (and fsync) finishes."""
        waiting = [n for n in self.sim.ids if self.sim.unpersisted[n]]
        self.sim.complete_persist(waiting[pick % len(waiting)])

    @precondition(lambda self: "disk" in self.faults)
    @rule(pick=st.integers(0, 4))
    def snapshot(self, pick: int) -> None:
        """Compact one node's log at what it has applied; lagging peers then need InstallSnapshot."""
        live = self.live()
        self.sim.compact(live[pick % len(live)])

    @precondition(lambda self: "elections" in self.faults)
    @rule(picks=st.sets(st.integers(0, 4), min_size=1, max_size=2))
    def election_timeout(self, picks: set[int]) -> None:
        """One or two nodes' election timers fire at the same instant: rival candidates.

        A timer cannot fire while its node still follows a live leader, so first one
        minimum election timeout passes with every node paused (no ticks), as a
        stalled cluster would see it.
        """
        self.sim.now += self.sim.config.election_timeout[0]
        live = self.live()
        for nid in sorted({live[i % len(live)] for i in picks}):
            self.sim.core(nid).campaign(self.sim.now)
            self.sim.flush(nid)

    # ----- safety properties -------------------------------------------------------

    @invariant()
    def election_safety(self) -> None:
        for nid in self.leaders():
            term = self.sim.core(nid).term
            first = self.leader_of_term.setdefault(term, nid)
            assert first == nid, f"election safety: {first} and {nid} both led term {term}"

    @invariant()
    def log_matching(self) -> None:
        cores = [self.sim.core(n) for n in self.live()]
        for i, a in enumerate(cores):
            for b in cores[i + 1 :]:
                assert _logs_match(a, b), f"log matching violated between {a.id} and {b.id}"

    @invariant()
    def leader_completeness(self) -> None:
        for nid in self.leaders():
            core = self.sim.core(nid)
            base = core.snapshot.index
            if core.log[: len(self.committed) - base] == self.committed[base:]:
                continue  # holds every committed entry after its snapshot: the common case
            for index in range(base + 1, len(self.committed) + 1):
                if self.committed_in[index - 1] < core.term:
                    have = core.entry(index) if index <= core.last_index else None
                    assert have == self.committed[index - 1], (
                        f"leader completeness: {nid} (term {core.term}) lacks {index}"
                    )


def _logs_match(a: Core, b: Core) -> bool:
    """Log matching: up to the last index where both hold an entry of the same term, the logs are equal.

    Only indexes after both snapshots are compared.
    """
    low = max(a.snapshot.index, b.snapshot.index)
    last_same = min(a.last_index, b.last_index)
    while last_same > low and a.term_at(last_same) != b.term_at(last_same):
        last_same -= 1
    if last_same <= low:
        return True
    return (
        a.log[low - a.snapshot.index : last_same - a.snapshot.index]
        == b.log[low - b.snapshot.index : last_same - b.snapshot.index]
    )


SETTINGS = settings(
    max_examples=round(1500 * SCALE),
    stateful_step_count=80,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


def machine_with(**overrides: Any) -> type[RaftMachine]:
    """A machine whose Config gets ``overrides``; keys naming a setup draw pin that draw instead."""
    pins = {k: v for k, v in overrides.items() if k in PINNABLE}
    config = Config(**TIMING, **{k: v for k, v in overrides.items() if k not in PINNABLE})
    return type("Machine", (RaftMachine,), {"config": config, "pins": pins})


@pytest.mark.slow
@pytest.mark.parametrize("lease_reads", [False, True])
def test_raft_is_safe_under_adversarial_schedules(lease_reads: bool) -> None:
    run_state_machine_as_test(machine_with(lease_reads=lease_reads), settings=SETTINGS)


# What each hunt needs beyond the defaults (see nodes/BUGS.md): Config fields, or setup draws it pins,
# such as the fault families (the nemesis) that reach the bug in well under a minute.
HUNTS: dict[str, dict[str, Any]] = {
    "stale-read": {},
    "lease-skew": {"lease_reads": True, "faults": {"partition"}},
    "no-election-restriction": {},
    "early-ack": {},
    "volatile-log": {},
    "forget-vote": {"pre_vote": False, "faults": {"crash", "elections", "network"}},
    "commit-old-term": {"faults": {"crash"}},
}


# What the invariants and observe() report; anything else (a message storm, say) is not a find.
VIOLATIONS = "election safety|log matching|leader completeness|state machine safety|snapshot safety|stale read"


def test_every_seeded_bug_is_covered() -> None:
    """Every consensus bug has a hunt here; the server's transaction bugs have tests of their own."""
    assert set(HUNTS) == set(CORE_BUGS)


@pytest.mark.slow
@pytest.mark.parametrize("bug", sorted(HUNTS))
def test_simulation_finds_seeded_bug(bug: str) -> None:
    hunt = settings(SETTINGS, max_examples=round(5000 * SCALE), phases=[Phase.generate])
    with pytest.raises(AssertionError, match=VIOLATIONS):
        run_state_machine_as_test(machine_with(bugs=frozenset({bug}), **HUNTS[bug]), settings=hunt)
