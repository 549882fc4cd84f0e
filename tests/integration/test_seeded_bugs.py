"""The harness catches seeded Raft bugs (nodes/BUGS.md) in real containers.

Each bug gets the fault that exposes it, aimed rather than drawn at random: the partition
nemesis always isolates the current leader, the kill nemesis always kills every node. Aiming
keeps a run short (seconds, not minutes) and the verdict reliable; a control run with the same
seed and faults but no bug must be valid, so an invalid verdict is the bug's doing, not the
faults' or the checker's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.nemesis.partition import PartitionNemesis
from harness.nemesis.process import KillNemesis
from harness.nemesis.registry import NEMESES, Cluster
from harness.run import RunConfig, RunOutcome, run

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(300)]

AIMED: dict[str, Callable[[Cluster], object]] = {
    "partition": lambda c: PartitionNemesis(c.remote, c.addresses, c.db.peer_port(), c.rng, c.db.primaries,
                                            shapes=["primary"]),
    "kill": lambda c: KillNemesis(c.db, list(c.addresses), c.rng, targets=["all"]),
}


@pytest.fixture
def aimed_nemeses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Partitions isolate the leader; kills hit every node."""
    for name, make in AIMED.items():
        monkeypatch.setitem(NEMESES, name, make)


def _run(tmp_path: Path, subnet: str, nemesis: str, bug: str | None) -> RunOutcome:
    config = RunConfig(
        test_name=f"it-bug-{bug or 'control'}-{nemesis}", nodes=3, subnet=subnet, time_limit=12,
        nemesis=[nemesis], nemesis_interval=2.5, concurrency=6, rate=80, op_timeout=2.0,
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
