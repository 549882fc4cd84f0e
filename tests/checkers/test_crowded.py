"""Crowded single-key histories: tens of processes, timed-out ops, one key (issue 15, point 2).

The search alone cannot get through such a history in any budget, so a violation in its middle
is found by the sweep of small windows (checkers/refute.py). The planted violations are invalid
by construction (`checkers.simulate.plant_anomaly`); the unplanted histories are linearizable by
construction, and must never be called INVALID, whatever the budget lets the checker decide.
"""

from __future__ import annotations

import pytest

from checkers.api import check_history
from checkers.simulate import ANOMALIES, plant_anomaly, simulate

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
