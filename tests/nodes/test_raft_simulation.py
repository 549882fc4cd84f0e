"""Hypothesis-driven simulation of the pure Raft core under an adversarial network.

Hypothesis chooses the schedule: clock ticks, which in-flight message to
deliver next, drops, duplicates, partitions, crashes and restarts, client
writes and reads. After every step the Raft safety properties are checked:
election safety, log matching, leader completeness, state machine safety,
plus linearizability of reads (a read never misses an entry that was
committed before it started). The same machine, run with a seeded bug, must
find a counterexample.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from raft_sim import SimCluster

from nodes.raft.core import BUGS, Config, Core, Ready, Role
from nodes.raft.messages import Entry

pytestmark = pytest.mark.timeout(600)

TIMING = {"election_timeout": (150.0, 300.0), "heartbeat": 30.0}


class RaftMachine(RuleBasedStateMachine):
    """One simulated cluster per example; subclasses pick the core configuration."""

    config = Config(**TIMING)

    def __init__(self) -> None:
        super().__init__()
        self.sim: SimCluster | None = None
        self.leader_of_term: dict[int, str] = {}
        self.committed: dict[int, Entry] = {}
        self.committed_in: dict[int, int] = {}  # index -> term of the node that first applied it
        self.read_floor: dict[int, int] = {}  # read ctx -> highest committed index when it started
        self.next_value = 0
        self.reads_started = 0

    # ----- setup and observation -------------------------------------------------

    @initialize(size=st.sampled_from([3, 3, 5]), seed=st.integers(0, 2**32 - 1), lag=st.booleans())
    def setup(self, size: int, seed: int, lag: bool) -> None:
        # lag: a leader sends before its own log write completes (complete_persist finishes it)
        self.sim = SimCluster(size=size, seed=seed, config=self.config, lag=lag)
        self.sim.observers.append(self.observe)

    def observe(self, nid: str, ready: Ready) -> None:
        term = self.sim.core(nid).term
        if ready.snapshot is not None:
            for index, entry in ready.snapshot.data:
                known = self.committed.setdefault(index, entry)
                assert known == entry, f"snapshot safety: {nid} installed {entry} at {index}, others {known}"
        for index, entry in ready.committed:
            known = self.committed.setdefault(index, entry)
            assert known == entry, f"state machine safety: {nid} applied {entry} at {index}, others {known}"
            self.committed_in.setdefault(index, term)
        for ctx, index in ready.reads:
            floor = self.read_floor.pop(ctx)
            assert index >= floor, f"stale read on {nid}: read index {index} < committed {floor}"

    def live(self) -> list[str]:
        return [n for n, c in self.sim.nodes.items() if c is not None]

    def down(self) -> list[str]:
        return [n for n, c in self.sim.nodes.items() if c is None]

    # ----- rules -------------------------------------------------------------------

    @rule(dt=st.sampled_from([1.0, 10.0, 50.0, 150.0]))
    def tick(self, dt: float) -> None:
        self.sim.tick(dt)

    @rule(duration=st.sampled_from([20.0, 50.0, 100.0, 200.0, 400.0]))
    def run(self, duration: float) -> None:
        """Let time pass with prompt delivery, so elections and commits actually happen."""
        self.sim.run(duration, step=10.0)

    @precondition(lambda self: self.sim.in_flight)
    @rule(pick=st.integers(0, 2**16))
    def deliver_one(self, pick: int) -> None:
        self.sim.deliver(self.sim.in_flight.pop(pick % len(self.sim.in_flight)))

    @precondition(lambda self: self.sim.in_flight)
    @rule()
    def deliver_all(self) -> None:
        for _ in range(2000):
            if not self.sim.in_flight:
                break
            self.sim.deliver(self.sim.in_flight.pop(0))

    @precondition(lambda self: self.sim.in_flight)
    @rule(pick=st.integers(0, 2**16))
    def drop(self, pick: int) -> None:
        self.sim.in_flight.pop(pick % len(self.sim.in_flight))

    @precondition(lambda self: self.sim.in_flight)
    @rule(pick=st.integers(0, 2**16))
    def duplicate(self, pick: int) -> None:
        self.sim.in_flight.append(self.sim.in_flight[pick % len(self.sim.in_flight)])

    @precondition(lambda self: any(self.sim.unpersisted.values()))
    @rule(pick=st.integers(0, 4))
    def complete_persist(self, pick: int) -> None:
        """A node's own pending log write (and fsync) finishes."""
        waiting = [n for n in self.sim.ids if self.sim.unpersisted[n]]
        self.sim.complete_persist(waiting[pick % len(waiting)])

    @precondition(lambda self: len(self.live()) > 1)
    @rule(pick=st.integers(0, 4))
    def crash(self, pick: int) -> None:
        live = self.live()
        self.sim.crash(live[pick % len(live)])

    @precondition(lambda self: self.live())
    @rule(pick=st.integers(0, 4))
    def election_timeout(self, pick: int) -> None:
        """Fire one node's election timer early (where it could fire at all): rival candidates."""
        live = self.live()
        nid = live[pick % len(live)]
        self.sim.core(nid).campaign(self.sim.now)
        self.sim.flush(nid)

    @rule(pick=st.integers(0, 4))
    def reboot(self, pick: int) -> None:
        """Crash and restart at once: only durable state survives."""
        nid = self.sim.ids[pick % len(self.sim.ids)]
        self.sim.crash(nid)
        self.sim.start(nid)

    @precondition(lambda self: self.down())
    @rule(pick=st.integers(0, 4))
    def restart(self, pick: int) -> None:
        down = self.down()
        self.sim.start(down[pick % len(down)])

    @rule(side=st.sets(st.integers(0, 4), min_size=1, max_size=2))
    def partition(self, side: set[int]) -> None:
        group = {self.sim.ids[i % len(self.sim.ids)] for i in side}
        self.sim.heal()
        for a in group:
            for b in self.sim.ids:
                if b not in group:
                    self.sim.cut |= {(a, b), (b, a)}

    @rule()
    def heal(self) -> None:
        self.sim.heal()

    @precondition(lambda self: self.live())
    @rule(pick=st.integers(0, 4))
    def snapshot(self, pick: int) -> None:
        """Compact one node's log at what it has applied; lagging peers then need InstallSnapshot."""
        live = self.live()
        self.sim.compact(live[pick % len(live)])

    @precondition(lambda self: any(self.sim.nodes[n].role is Role.LEADER for n in self.live()))
    @rule(pick=st.integers(0, 4))
    def write(self, pick: int) -> None:
        leaders = [n for n in self.live() if self.sim.core(n).role is Role.LEADER]
        self.next_value += 1
        self.sim.propose(leaders[pick % len(leaders)], {"op": "write", "key": "k", "value": self.next_value})

    @precondition(lambda self: any(self.sim.nodes[n].role is Role.LEADER for n in self.live()))
    @rule(pick=st.integers(0, 4))
    def read(self, pick: int) -> None:
        leaders = [n for n in self.live() if self.sim.core(n).role is Role.LEADER]
        nid = leaders[pick % len(leaders)]
        self.reads_started += 1
        ctx = self.reads_started
        self.read_floor[ctx] = max(self.committed, default=0)
        self.sim.core(nid).read(ctx, self.sim.now)
        self.sim.flush(nid)

    # ----- safety properties -------------------------------------------------------

    @invariant()
    def election_safety(self) -> None:
        if self.sim is None:
            return
        for nid in self.live():
            core = self.sim.core(nid)
            if core.role is Role.LEADER:
                first = self.leader_of_term.setdefault(core.term, nid)
                assert first == nid, f"election safety: {first} and {nid} both led term {core.term}"

    @invariant()
    def log_matching(self) -> None:
        if self.sim is None:
            return
        logs = [_entries(self.sim.core(n)) for n in self.live()]
        for i, a in enumerate(logs):
            for b in logs[i + 1 :]:
                shared = sorted(a.keys() & b.keys())
                last_same = max((k for k in shared if a[k].term == b[k].term), default=0)
                assert all(a[k] == b[k] for k in shared if k <= last_same), "log matching violated"

    @invariant()
    def leader_completeness(self) -> None:
        if self.sim is None:
            return
        for nid in self.live():
            core = self.sim.core(nid)
            if core.role is not Role.LEADER:
                continue
            for index, entry in self.committed.items():
                if self.committed_in[index] < core.term and index > core.snapshot.index:
                    have = core.entry(index) if index <= core.last_index else None
                    assert have == entry, f"leader completeness: {nid} (term {core.term}) lacks {index}"


def _entries(core: Core) -> dict[int, Entry]:
    """A node's log entries by index (those compacted into its snapshot are left out)."""
    return {i: core.entry(i) for i in range(core.snapshot.index + 1, core.last_index + 1)}


SETTINGS = settings(
    max_examples=150,
    stateful_step_count=80,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


def machine_with(**overrides: object) -> type[RaftMachine]:
    return type("Machine", (RaftMachine,), {"config": Config(**{**TIMING, **overrides})})


@pytest.mark.slow
@pytest.mark.parametrize("lease_reads", [False, True])
def test_raft_is_safe_under_adversarial_schedules(lease_reads: bool) -> None:
    run_state_machine_as_test(machine_with(lease_reads=lease_reads), settings=settings(SETTINGS, max_examples=300))


# Extra settings some bugs need to become reachable (see nodes/BUGS.md).
HUNTS = {
    "stale-read": {},
    "lease-skew": {"lease_reads": True},
    "no-election-restriction": {},
    "early-ack": {},
    "volatile-log": {},
}
# These need an interleaving too precise for random search: test_raft_bug_scenarios.py scripts them.
SCRIPTED = {"forget-vote", "commit-old-term"}


def test_every_seeded_bug_is_covered() -> None:
    assert set(HUNTS) | SCRIPTED == set(BUGS)


@pytest.mark.slow
@pytest.mark.parametrize("bug", sorted(HUNTS))
def test_simulation_finds_seeded_bug(bug: str) -> None:
    hunt = settings(SETTINGS, max_examples=2500, phases=[Phase.generate])
    with pytest.raises(AssertionError):
        run_state_machine_as_test(machine_with(bugs=frozenset({bug}), **HUNTS[bug]), settings=hunt)
