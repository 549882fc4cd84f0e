"""Crowded single-key histories: tens of processes, timed-out ops, one key (issue 15, point 2).

The search alone cannot get through such a history in any budget, so a violation in its middle
is found by the sweep of small windows (checkers/refute.py). The planted violations are invalid
by construction (`checkers.simulate.plant_anomaly`); the unplanted histories are linearizable by
construction, and must never be called INVALID, whatever the budget lets the checker decide.
"""

from __future__ import annotations

import json

import pytest

from checkers.api import check_history
from checkers.simulate import ANOMALIES, plant_anomaly, simulate
from harness.cli import main

SHAPES = [(1500, 30, 0.02), (1500, 80, 0.05)]


@pytest.mark.parametrize("kind", ANOMALIES)
@pytest.mark.parametrize(("n_ops", "procs", "crashed"), SHAPES)
def test_planted_violation_in_a_crowded_history_is_found_and_named(kind, n_ops, procs, crashed):
    seed, planted = 7, None
    while planted is None:  # the first seed from here whose history has a place for this kind
        seed += 1
        planted = plant_anomaly(simulate(seed, n_ops, procs, keys=["k"], p_info=crashed, concurrency=0.9), seed, kind)
    events, at = planted
    r = check_history(events, time_limit=120)
    assert r["valid"] is False, r.get("reason")
    assert r["counterexample"]["op"]["index"] == at, "the counterexample names the planted op"


@pytest.mark.parametrize(("n_ops", "procs", "crashed"), SHAPES)
def test_crowded_linearizable_history_is_never_called_invalid(n_ops, procs, crashed):
    events = simulate(11, n_ops, procs, keys=["k"], p_info=crashed, concurrency=0.9)
    r = check_history(events, time_limit=10, shrink=False)
    assert r["valid"] is not False, r["counterexample"]
    if r["valid"] == "unknown":
        assert r["reason"] and r["unknown_keys"][0]["reason"], "an unknown verdict says why"


def test_harness_check_finds_a_stale_read_among_80_processes(tmp_path, capsys):
    """Through the CLI, with its default budget: exit 1, the planted read named, the window said."""
    seed, planted = 0, None
    while planted is None:
        seed += 1
        planted = plant_anomaly(simulate(seed, 3000, 80, keys=["k"], p_info=0.05, concurrency=0.9), seed, "stale-read")
    events, at = planted
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps(e.to_dict()) + "\n" for e in events))
    assert main(["check", str(path), "--json"]) == 1
    r = json.loads(capsys.readouterr().out)
    assert r["counterexample"]["op"]["index"] == at
    assert "window" in r["counterexample"], "refuted by a window of the history, not by the whole search"
