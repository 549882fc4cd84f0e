"""The harness catches seeded Raft bugs (nodes/BUGS.md) in real containers.

Each bug gets the fault that exposes it, aimed rather than drawn at random: the partition
nemesis always isolates the current leader, the kill nemesis always kills every node, and
"lag-kill" (defined here) makes a lagging follower race for a dead leader's place. Aiming
keeps a run short (seconds, not minutes) and the verdict reliable; a control run with the same
seed and faults but no bug must be valid, so an invalid verdict is the bug's doing, not the
faults' or the checker's. Aiming is local to these tests: the nemesis constructors are swapped
for the duration of each run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.nemesis.grudges import grudge_of, isolate
from harness.nemesis.partition import PartitionNemesis
from harness.nemesis.process import KillNemesis, revive
from harness.nemesis.registry import NEMESES, Cluster
from harness.run import RunConfig, RunOutcome, run

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(300)]



class LagThenKillLeader:
    """Cut one follower off until it lags, then kill the leader and reconnect the two followers.

    That is the one situation where the election restriction matters: the lagging follower and
    the up-to-date one race for the vacant leadership, and only the restriction stops the
    lagging one from winning and overwriting entries the dead leader had committed. The race is
    about a coin toss, so one injection retries (restarting the killed leader in between) until
    the lagging node is elected or `tries` runs out; without the bug it never is.

    Only the cut between the two followers is healed at the kill: the dead leader's kernel keeps
    retransmitting what its socket buffers held, and would otherwise bring the lagging node up
    to date after its death.
    """

    name = "lag-kill"

    def __init__(self, c: Cluster, lag_s: float = 1.0, tries: int = 8) -> None:
        self.db = c.db
        self.remote = c.remote
        self.addresses = c.addresses
        self.nodes = sorted(c.addresses)
        self.rng = c.rng
        self.lag_s = lag_s
        self.tries = tries
        self.partition = PartitionNemesis(c.remote, c.addresses, c.db.peer_port(), c.rng)

    def _new_leader(self, timeout: float = 5.0) -> str | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            leaders = self.db.primaries()
            if leaders:
                return leaders[0]
            time.sleep(0.05)
        return None

    def inject(self) -> dict[str, Any]:
        attempts: list[dict[str, Any]] = []
        for _ in range(self.tries):
            leader = self._new_leader()
            if leader is None:
                break
            lagging = self.rng.choice([n for n in self.nodes if n != leader])
            self.partition.cut(grudge_of(isolate(self.nodes, lagging)))
            time.sleep(self.lag_s)  # the workload commits entries the lagging node never sees
            self.db.kill(leader)
            follower = next(n for n in self.nodes if n not in (leader, lagging))
            self._uncut(lagging, follower)
            winner = self._new_leader()
            self.partition.heal()
            attempts.append({"killed": leader, "lagging": lagging, "elected": winner})
            if winner == lagging:
                break
            self.db.start(leader)  # back as a follower, for the next try
        nodes = sorted({a["killed"] for a in attempts} | {a["lagging"] for a in attempts})
        return {"kind": self.name, "nodes": nodes, "attempts": attempts}

    def _uncut(self, a: str, b: str) -> None:
        """Delete the DROP rules between two nodes (both directions, on both), leaving other cuts."""
        for node, peer in ((a, b), (b, a)):
            addr = self.addresses[peer]
            rules = ["iptables -w 5 -D INPUT -s {0} -j DROP", "iptables -w 5 -D OUTPUT -d {0} -j DROP"]
            r = self.remote.exec(node, ["sh", "-c", " && ".join(rule.format(addr) for rule in rules)], timeout=30)
            assert r.ok, r.stderr

    def heal(self) -> dict[str, Any]:
        self.partition.heal()
        return {"kind": f"heal-{self.name}", **revive(self.db, self.nodes)}


AIMED: dict[str, Callable[[Cluster], object]] = {
    "partition": lambda c: PartitionNemesis(c.remote, c.addresses, c.db.peer_port(), c.rng, c.db.primaries,
                                            shapes=["primary"]),
    "kill": lambda c: KillNemesis(c.db, list(c.addresses), c.rng, targets=["all"]),
    "lag-kill": LagThenKillLeader,
}


@pytest.fixture
def aimed_nemeses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Partitions isolate the leader; kills hit every node; "lag-kill" is added."""
    for name, make in AIMED.items():
        monkeypatch.setitem(NEMESES, name, make)


# Per fault: (time limit s, clients, ops/s). The register workload has 3 keys and 5 values, so an
# operation left indeterminate (a write stuck on a cut-off leader) can explain many anomalies:
# partitions stay at a modest rate to keep those few. The lag-kill race is won about half the
# time, so it gets longer and more writes, so that the lagging leader erases many of them.
LOAD = {"partition": (12, 6, 80), "kill": (12, 6, 80), "lag-kill": (20, 10, 200)}


def _run(tmp_path: Path, subnet: str, nemesis: str, bug: str | None) -> RunOutcome:
    time_limit, clients, rate = LOAD[nemesis]
    config = RunConfig(
        test_name=f"it-bug-{bug or 'control'}-{nemesis}", nodes=3, subnet=subnet, time_limit=time_limit,
        nemesis=[nemesis], nemesis_interval=2.5, concurrency=clients, rate=rate, op_timeout=2.0,
        recovery_time=20, seed=11, bug=bug, results_root=tmp_path,
    )
    return run(config, say=lambda *_: None)


def _verdict(outcome: RunOutcome, leftovers: Callable[[str], list[str]]) -> bool | str:
    r = outcome.results
    assert leftovers(r["run_id"]) == []
    assert r["problems"] == [], r["problems"]
    assert r["faults"], "no fault was injected"
    return r["valid"]


@pytest.mark.parametrize(
    ("nemesis", "bug"),
    [
        ("partition", None),
        ("partition", "stale-read"),
        ("partition", "early-ack"),
        ("kill", None),
        ("kill", "volatile-log"),
        ("lag-kill", None),
        ("lag-kill", "no-election-restriction"),
    ],
)
def test_harness_verdict_on_seeded_bug(
    nemesis: str, bug: str | None, aimed_nemeses: None, leftovers, node_image, free_subnet, tmp_path: Path
) -> None:
    outcome = _run(tmp_path, free_subnet("10.244"), nemesis, bug)
    valid = _verdict(outcome, leftovers)
    checker = json.dumps(outcome.results["checkers"], indent=1)[:2000]
    if bug is None:
        assert valid is True, checker
    else:
        assert valid is False, f"{bug} under {nemesis} was not caught: {checker}"
