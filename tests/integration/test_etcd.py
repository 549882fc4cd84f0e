"""End to end against real etcd (Debian's 3.4) in containers: judged right both ways, and cleaned up.

Linearizable reads (etcd's default) stay VALID under every fault etcd supports; serializable
reads, which a member answers from its own state, are caught as stale: INVALID.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checkers.history import read_history
from harness.platform import DockerPlatform
from harness.run import run
from harness.test import RunOptions, make_test

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(600)]

FAULTS = ("partition", "kill", "pause", "packet")


def test_linearizable_reads_stay_valid_under_every_fault_and_nothing_is_left(
    leftovers, free_subnet, tmp_path: Path
) -> None:
    test = make_test(db="etcd", nemesis=",".join(FAULTS), platform=DockerPlatform(free_subnet("10.245")),
                     name="it-etcd-faults",
                     options=RunOptions(nodes=3, time_limit=30, nemesis_interval=2.5, concurrency=6, rate=60, seed=11,
                                        results_root=tmp_path))
    outcome = run(test, say=lambda *_: None)
    r = outcome.results
    assert leftovers(r["run_id"]) == []
    assert r["problems"] == [], r["problems"]
    assert r["valid"] is True, json.dumps(r["checkers"], indent=1)[:3000]
    assert (outcome.run_dir / "nodes" / "n1" / "etcd.log").is_file()

    events = read_history(outcome.run_dir / "history.jsonl")
    done = {e.f: e for e in events if e.process == "nemesis" and e.type == "info" and e.f.startswith("start-")}
    assert sorted(done) == sorted(f"start-{f}" for f in FAULTS), "every fault came up in 30 s"
    assert not [e for e in done.values() if e.error], "no injection failed"
    assert done["start-partition"].value["probe"]["cut"]["reachable"] is False
    assert done["start-kill"].value["verified"] is True
    assert set(done["start-pause"].value["states"].values()) == {"T"}, "paused etcd is stopped (T)"
    heals = [e for e in events if e.process == "nemesis" and e.f == "stop-kill" and e.type == "info" and e.value]
    assert any(e.value.get("restarted") for e in heals), "a killed member was restarted on its data"
    ok = [e for e in events if e.is_client and e.type == "ok"]
    assert {e.f for e in ok} == {"read", "write", "cas"}
    assert max(e.time for e in ok) > max(e.time for e in heals), "etcd served clients after the last heal"


def test_serializable_reads_are_caught_as_stale(free_subnet, tmp_path: Path) -> None:
    test = make_test(db="etcd", db_opts=["serializable-reads=true"], nemesis="partition",
                     platform=DockerPlatform(free_subnet("10.245")), name="it-etcd-serializable",
                     options=RunOptions(nodes=3, time_limit=20, nemesis_interval=3, concurrency=10, rate=100, seed=12,
                                        results_root=tmp_path))
    r = run(test, say=lambda *_: None).results
    assert r["problems"] == [], r["problems"]
    assert r["config"]["db_options"] == {"serializable-reads": True}
    verdict = r["checkers"]["linearizable"]
    assert r["valid"] is False, json.dumps(verdict, indent=1)[:3000]
    assert verdict["counterexample"]["op"]["f"] == "read", "the impossible operation is a (stale) read"
