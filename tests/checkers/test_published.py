"""Every published history with a verdict stated by its source's own tests gets that verdict.

The files live in ../shared/histories beside the project (they are other people's data and
are not copied in); without that folder these tests skip.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checkers.api import check_file

# Other people's histories live beside the project, not in it (see /work/shared/histories/README.md).
SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "histories"

MANIFEST = SHARED / "MANIFEST.json"
EXPECTED = {"linearizable": True, "not-linearizable": False}


def _entries() -> list:
    if not MANIFEST.exists():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{SHARED} is absent"))]
    params = []
    for e in json.loads(MANIFEST.read_text()):
        if e["expected"] not in EXPECTED:
            continue
        params.append(pytest.param(e, id=e["file"]))
    return params


@pytest.mark.parametrize("entry", _entries())
def test_published_verdict(entry):
    r = check_file(
        SHARED / entry["file"],
        format=entry["format"],
        model=entry["model"],
        init=entry["initial_state"],
        time_limit=60,
        shrink=False,
    )
    assert r["valid"] is EXPECTED[entry["expected"]], r.get("counterexample")


def test_unknown_verdicts_still_finish():
    """The entries no test rules on (an empty log, the etcd mutex) are still checked cleanly."""
    if not MANIFEST.exists():
        pytest.skip(f"{SHARED} is absent")
    for e in json.loads(MANIFEST.read_text()):
        if e["expected"] in EXPECTED:
            continue
        r = check_file(SHARED / e["file"], format=e["format"], model=e["model"], init=e["initial_state"], time_limit=30)
        assert r["valid"] in (True, False, "unknown")
        json.dumps(r)
