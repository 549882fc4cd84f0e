"""End to end: a real 3-node Raft cluster under the partition nemesis, checked and torn down."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checkers.history import read_history
from harness.platform import DockerPlatform
from harness.report.data import fault_windows
from harness.run import run
from harness.test import RunOptions, make_test

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(600)]


def test_partition_run_is_valid_and_leaves_nothing(leftovers, node_image, tmp_path: Path) -> None:
    test = make_test(nemesis="partition", platform=DockerPlatform("10.233.0.0/24"), name="it-partition",
                     options=RunOptions(nodes=3, time_limit=20, nemesis_interval=4, concurrency=6, rate=60, seed=42,
                                        results_root=tmp_path))
    outcome = run(test, say=lambda *_: None)
    r = outcome.results
    assert leftovers(r["run_id"]) == []
    assert r["problems"] == [], r["problems"]
    assert r["valid"] is True, json.dumps(r["checkers"], indent=1)[:3000]

    for name in ("history.jsonl", "results.json", "report.html", "harness.log", "nodes/n1/node.log"):
        assert (outcome.run_dir / name).is_file(), name

    events = read_history(outcome.run_dir / "history.jsonl")
    windows = fault_windows(events)
    assert len(windows) >= 2, "the nemesis should have partitioned at least twice in 20 s"
    for e in events:
        if e.process == "nemesis" and e.type == "info" and e.f == "start-partition":
            assert e.value["probe"]["cut"]["reachable"] is False, "a partition did not cut traffic"
            assert e.value["probe"]["intact"]["reachable"] is True
    last_heal = max(w.end for w in windows if w.end is not None)
    ok = [e for e in events if e.process != "nemesis" and e.type == "ok"]
    during = [e for e in ok if any(w.applied is not None and w.applied <= e.time and (w.end is None or e.time <= w.end)
                                   for w in windows)]
    after = [e for e in ok if e.time > last_heal]
    assert during, "no operation succeeded while the cluster was partitioned"
    assert after, "no operation succeeded after the partitions healed"
    assert {e.f for e in after} >= {"read"}
