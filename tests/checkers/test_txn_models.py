"""Which anomalies each consistency model forbids, and which models an anomaly rules out."""

from __future__ import annotations

import pytest

from checkers.txn.models import MODELS, boundary, forbidden_anomalies, implied_anomalies


@pytest.mark.parametrize(
    ("anomaly", "weakest", "satisfies"),
    [
        ("G0", ["read-uncommitted"], []),
        ("G1a", ["read-committed"], ["read-uncommitted"]),
        ("G1c", ["read-committed"], ["read-uncommitted"]),
        ("G-single-item", ["snapshot-isolation", "repeatable-read"], ["read-committed", "read-uncommitted"]),
        ("G2-item", ["repeatable-read"], ["snapshot-isolation", "read-committed", "read-uncommitted"]),
        ("lost-update", ["snapshot-isolation", "repeatable-read"], ["read-committed", "read-uncommitted"]),
        ("internal", ["snapshot-isolation"], ["repeatable-read", "read-committed", "read-uncommitted"]),
        ("G1c-realtime", ["strict-serializable"], MODELS[1:]),
        ("G2-item-process", ["strict-serializable"], MODELS[1:]),
        ("garbage-read", ["read-uncommitted"], []),
    ],
)
def test_boundary(anomaly: str, weakest: list[str], satisfies: list[str]) -> None:
    b = boundary([anomaly])
    assert b["not"] == weakest
    assert b["satisfies"] == list(satisfies)
    assert set(b["not"]) | set(b["also_not"]) | set(b["satisfies"]) == set(MODELS)


def test_forbidden_sets_grow_with_strength() -> None:
    sets = [forbidden_anomalies([m]) for m in reversed(MODELS)]
    assert "G1a" in sets[1] and "G2-item" not in sets[1] and "lost-update" not in sets[1]
    assert "G2-item" in forbidden_anomalies(["repeatable-read"])
    assert "G2-item" not in forbidden_anomalies(["snapshot-isolation"])
    assert "G-single-item-realtime" in forbidden_anomalies(["strict-serializable"])
    assert "G-single-item-realtime" not in forbidden_anomalies(["serializable"])
    strict, serial = forbidden_anomalies(["strict-serializable"]), forbidden_anomalies(["serializable"])
    assert serial < strict


def test_implications() -> None:
    assert {"G1c", "G1", "G0-realtime", "G1c-realtime"} <= implied_anomalies(["G0"])
    assert "G2-item" in implied_anomalies(["G-single-item"])
    assert "G-single-item" not in implied_anomalies(["G2-item"])
    with pytest.raises(ValueError, match="unknown consistency model"):
        forbidden_anomalies(["linearizable"])
