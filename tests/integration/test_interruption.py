"""A harness that is interrupted heals and cleans up; one that is killed leaves a checkable history."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from checkers.history import read_history

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]


def start_run(results: Path, subnet: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "run", "--nodes", "3", "--time-limit", "120",
         "--nemesis-interval", "2", "--subnet", subnet, "--results", str(results), "--seed", "3"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def wait_for(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError("condition not reached in time")


def history_of(results: Path) -> Path:
    return results / "latest" / "history.jsonl"


def partition_started(results: Path) -> bool:
    path = history_of(results)
    if not path.exists():
        return False
    events = read_history(path)
    return any(e.f == "start-partition" and e.type == "info" for e in events) and \
        sum(e.type == "ok" for e in events) > 20


def run_id_of(results: Path) -> str:
    m = re.search(r" run (\S+) config", (results / "latest" / "harness.log").read_text())
    assert m
    return m.group(1)


@pytest.mark.parametrize(("sig", "again"), [(signal.SIGINT, False), (signal.SIGTERM, True)])
def test_interrupt_heals_and_removes_everything(sig: int, again: bool, leftovers, node_image, tmp_path: Path) -> None:
    """Ctrl-C, or SIGTERM as CI cancellation and `docker stop` send it, even twice: teardown finishes."""
    proc = start_run(tmp_path, "10.234.0.0/24")
    try:
        wait_for(lambda: partition_started(tmp_path), 180)
        proc.send_signal(sig)
        if again:
            time.sleep(1.0)  # inside teardown by now
            proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 255, err
    assert "Traceback" not in err
    assert json.loads((tmp_path / "latest" / "results.json").read_text())["interrupted_by"] == signal.Signals(sig).name
    run_id = run_id_of(tmp_path)
    assert leftovers(run_id) == []
    events = read_history(history_of(tmp_path))
    assert events[-1].process == "nemesis" and events[-1].f == "stop-partition", "the final heal is recorded last"
    check = subprocess.run([sys.executable, "-m", "harness.cli", "check", str(tmp_path / "latest")],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert check.returncode in (0, 1, 2), check.stderr


def test_killed_harness_leaves_a_checkable_history_and_clean_removes_the_rest(
    leftovers, node_image, tmp_path: Path
) -> None:
    proc = start_run(tmp_path, "10.235.0.0/24")
    try:
        wait_for(lambda: partition_started(tmp_path), 180)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        run_id = run_id_of(tmp_path)
        assert leftovers(run_id), "a killed harness cannot have cleaned up"
    finally:
        proc.kill()
        clean = subprocess.run([sys.executable, "-m", "harness.cli", "clean", "--run-id", run_id_of(tmp_path)],
                               cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert clean.returncode == 0, clean.stderr
    assert leftovers(run_id) == []
    check = subprocess.run([sys.executable, "-m", "harness.cli", "check", str(tmp_path / "latest")],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert check.returncode in (0, 1, 2), check.stderr
    assert sum(e.type == "ok" for e in read_history(history_of(tmp_path))) > 20
