"""Exact replay and the hunt, through the CLI, on real containers with real faults."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.cli import EXIT_INVALID, main
from harness.nemesis.schedule_file import read_schedule

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(900)]


def _runs(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.glob("*/*/results.json") if not p.parent.is_symlink())


def _faults(run_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The run's results and its faults as they ran, with times from the start of its workload."""
    r = json.loads((run_dir / "results.json").read_text())
    zero = r["timings"]["nemesis_start_s"]
    return r, [{**f, "at": f["start_s"] - zero} for f in r["schedule"]]


def test_a_replay_injects_the_recorded_faults_again(free_subnet, leftovers, node_image, tmp_path: Path) -> None:
    subnet = free_subnet("10.201")
    common = ["--nodes", "3", "--subnet", subnet, "--results", str(tmp_path)]
    main(["run", "--nemesis", "pause:leader,kill:followers", "--time-limit", "20", "--nemesis-interval", "3",
          "--seed", "5", *common])
    [original_dir] = _runs(tmp_path)
    original, ran = _faults(original_dir)
    assert len(ran) >= 2 and not original["problems"], original["problems"]

    main(["replay", str(original_dir), "--subnet", subnet])
    replay_dir = next(d for d in _runs(tmp_path) if d != original_dir)
    replay, again = _faults(replay_dir)
    assert replay["config"]["replay_of"] == str(original_dir), "a replay says what it replays"
    assert replay["seed"] == original["seed"] and not replay["problems"], replay["problems"]
    assert leftovers(replay["run_id"]) == []
    assert len(again) >= len(ran) - 1, "the last fault may be cut off by the end of the workload"
    for before, after in zip(ran, again, strict=False):
        assert (after["nemesis"], after.get("target"), after.get("shape")) == \
            (before["nemesis"], before.get("target"), before.get("shape"))
        assert abs(after["at"] - before["at"]) < 3, (before, after)
        if after["nemesis"] == "pause:leader":
            assert after["nodes"] == [after["leader"]], "the leader of the time was paused"


def test_a_hunt_finds_saves_and_shrinks_a_stale_read(free_subnet, node_image, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    code = main(["hunt", "--bug", "stale-read", "--nemesis", "partition:leader", "--op-timeout", "1",
                 "--nodes", "3", "--run-time", "20", "--max-faults", "2", "--budget", "8m", "--seed", "4",
                 "--confirm", "1", "--subnet", free_subnet("10.201"), "--results", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == EXIT_INVALID, out
    saved = [p for p in tmp_path.glob("*/*/schedule.json") if not p.parent.is_symlink()]
    assert len(saved) == 1, out
    faults = read_schedule(saved[0])
    assert 1 <= len(faults) <= 2 and all(f.nemesis == "partition:leader" for f in faults)
    results = json.loads((saved[0].parent / "results.json").read_text())
    assert results["valid"] is False, "the schedule is saved beside a run it made INVALID"
    assert f"harness replay {saved[0].parent}" in out
    replays = json.loads(saved[0].read_text())["replays"]
    assert replays["of"] == 1 and f"failed again in {replays['invalid']} of 1 replays" in out, out
    assert json.loads((Path(replays["runs"][0]) / "results.json").read_text())["config"]["replay_of"] == \
        str(saved[0].parent), "the replay is a harness replay of the saved run"
