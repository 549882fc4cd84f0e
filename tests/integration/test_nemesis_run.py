"""End to end: a 5-node run under every nemesis at once, still linearizable, healed and torn down."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from checkers.history import read_history
from harness.nemesis.registry import BASIC
from harness.platform import DockerPlatform
from harness.run import run
from harness.test import RunOptions, make_test

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]


def test_all_nemeses_run_is_valid_records_every_fault_and_leaves_nothing(
    leftovers, node_image, free_subnet, tmp_path: Path
) -> None:
    test = make_test(nemesis="all", platform=DockerPlatform(free_subnet("10.242")), name="it-nemesis-all",
                     options=RunOptions(nodes=5, time_limit=30, nemesis_interval=1.0, concurrency=6, rate=50, seed=7,
                                        results_root=tmp_path))
    outcome = run(test, say=lambda *_: None)
    r = outcome.results
    assert leftovers(r["run_id"]) == []
    assert r["problems"] == [], r["problems"]
    assert r["valid"] is True, json.dumps(r["checkers"], indent=1)[:3000]

    events = [e for e in read_history(outcome.run_dir / "history.jsonl") if e.process == "nemesis"]
    done = [e for e in events if e.type == "info"]
    assert not [e for e in done if e.error], "no injection or heal failed"
    for name in BASIC:
        starts = [e.value for e in done if e.f == f"start-{name}"]
        stops = [e.value for e in done if e.f == f"stop-{name}"]
        assert starts, f"{name} was never injected"
        assert stops and stops[-1]["verified"] is True, f"{name} was not healed and verified at the end"
    # The final heal heals everything, last.
    assert [e.f for e in done[-len(BASIC):]] == [f"stop-{name}" for name in BASIC]
    # Every event says exactly what was done.
    for e in done:
        if e.f.startswith("start-"):
            assert e.value["kind"] == e.f[len("start-"):]
            assert e.value.get("nodes") or e.value.get("grudge"), e.value
        if e.f == "start-packet":
            assert set(e.value["mechanism"]) == set(e.value["nodes"])


def test_ctrl_c_during_a_process_fault_heals_every_nemesis(leftovers, node_image, free_subnet, tmp_path: Path) -> None:
    """Interrupted while a node is killed or paused: the final heal still revives it and resets clocks."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "run", "--nodes", "3", "--time-limit", "120", "--nemesis",
         "kill,pause,clock", "--nemesis-interval", "2", "--subnet", free_subnet("10.243"),
         "--results", str(tmp_path), "--seed", "5"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    history = tmp_path / "latest" / "history.jsonl"

    def process_fault_in_force() -> bool:
        if not history.exists():
            return False
        nemesis = [e for e in read_history(history) if e.process == "nemesis"]
        return bool(nemesis) and nemesis[-1].type == "info" and nemesis[-1].f in ("start-kill", "start-pause")

    try:
        deadline = time.monotonic() + 180
        while not process_fault_in_force():
            assert time.monotonic() < deadline and proc.poll() is None, "no process fault came up"
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 255, err
    assert "Traceback" not in err and "problem:" not in err, err
    results = json.loads((tmp_path / "latest" / "results.json").read_text())
    assert leftovers(results["run_id"]) == []
    done = [e for e in read_history(history) if e.process == "nemesis" and e.type == "info"]
    assert [e.f for e in done[-3:]] == ["stop-kill", "stop-pause", "stop-clock"]
    assert all(e.value["verified"] is True for e in done[-3:])
    assert done[-3].value["restarted"] or done[-3].value["resumed"], "the fault in force was undone"
