"""The pytest plugin as a team would use it: a fault test as a pytest test, in its own session."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(600)]

INNER = '''
import pytest

pytestmark = pytest.mark.harness(time_limit=8, nemesis_interval=2, concurrency=6, rate=80)


def test_correct_node_is_valid(harness_run):
    result = harness_run(nemesis="partition", seed=3)
    assert result.valid


@pytest.mark.harness(workload="bank", nemesis="none")
def test_torn_transactions_are_caught(harness_run):
    result = harness_run(db_opts=["bug=split-txn"], seed=4)
    assert result.valid
'''


def test_a_broken_system_fails_with_the_story_and_a_replay_command(node_image, tmp_path: Path) -> None:
    (tmp_path / "test_inner.py").write_text(INNER)
    junit = tmp_path / "junit.xml"
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "test_inner.py",
                        f"--junitxml={junit}", "-o", "junit_family=xunit1", f"--basetemp={tmp_path / 'tmp'}"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=500)
    assert r.returncode == 1, r.stdout[-3000:] + r.stderr[-2000:]
    assert "1 failed, 1 passed" in r.stdout, r.stdout[-3000:]
    assert "- harness -" in r.stdout, r.stdout[-3000:]  # the report section with the whole story
    assert "<harness INVALID (test_torn_transactions_are_caught, seed 4): bank:" in r.stdout, r.stdout[-3000:]
    assert "bad read(s) of all balances" in r.stdout and "balances sum to" in r.stdout
    assert "report: " in r.stdout and "report.html" in r.stdout
    assert "replay: harness run --db raft --workload bank --nemesis none --db-opt bug=split-txn" in r.stdout
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    props = {p.get("name"): p.get("value") for p in cases["test_torn_transactions_are_caught"].iter("property")}
    assert props["harness_seed"] == "4" and "--seed 4" in props["harness_replay"]
    assert Path(props["harness_report"]).is_file()
