"""Every published history with a verdict stated by its source's own tests gets that verdict.

The files are other people's data, kept in tests/data/histories with their licenses and sources
(see its README), so a clone of this repository runs every one of these tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checkers.api import check_file

HISTORIES = Path(__file__).resolve().parents[1] / "data" / "histories"

MANIFEST = HISTORIES / "MANIFEST.json"
EXPECTED = {"linearizable": True, "not-linearizable": False}


def _entries() -> list:
    params = []
    for e in json.loads(MANIFEST.read_text()):
        if e["expected"] not in EXPECTED:
            continue
        params.append(pytest.param(e, id=e["file"]))
    return params


@pytest.mark.parametrize("entry", _entries())
def test_published_verdict(entry):
    r = check_file(
        HISTORIES / entry["file"],
        format=entry["format"],
        model=entry["model"],
        init=entry["initial_state"],
        time_limit=60,
        shrink=False,
    )
    assert r["valid"] is EXPECTED[entry["expected"]], r.get("counterexample")


def test_unknown_verdicts_still_finish():
    """The entries no test rules on (an empty log, the etcd mutex) are still checked cleanly."""
    for e in json.loads(MANIFEST.read_text()):
        if e["expected"] in EXPECTED:
            continue
        r = check_file(
            HISTORIES / e["file"], format=e["format"], model=e["model"], init=e["initial_state"], time_limit=30
        )
        assert r["valid"] in (True, False, "unknown")
        json.dumps(r)
