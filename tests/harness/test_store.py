from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.store import RunDir, read_results, runs, versions


def test_run_dirs_are_unique_and_latest_follows(tmp_path: Path) -> None:
    a = RunDir.create(tmp_path, "t")
    b = RunDir.create(tmp_path, "t")
    assert a.path != b.path
    assert (tmp_path / "latest").resolve() == b.path.resolve()
    assert (tmp_path / "t" / "latest").resolve() == b.path.resolve()
    b.write_results({"valid": True})
    assert read_results(tmp_path / "latest") == {"valid": True}


def test_test_name_cannot_escape_the_results_folder(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="test name"):
        RunDir.create(tmp_path, "../evil")


def test_versions_name_what_produced_the_run() -> None:
    v = versions("20.10.24")
    assert v["docker_engine"] == "20.10.24" and v["python"].count(".") == 2 and v["harness"]


def test_runs_lists_each_finished_run_once_newest_first(tmp_path: Path) -> None:
    a = RunDir.create(tmp_path, "t")
    a.write_results({"valid": True})
    RunDir.create(tmp_path, "u")  # not finished: no results.json
    b = RunDir.create(tmp_path, "t")
    b.write_results({"valid": False})
    assert list(runs(tmp_path)) == [b.path, a.path]
