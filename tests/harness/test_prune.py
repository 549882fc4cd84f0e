"""`harness prune` removes old valid runs per test, keeps the evidence of bugs unless told, touches no
run still going, and says what it did."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from serve_fixtures import fake_run
from test_cli import assert_one_line, harness

from harness.errors import UsageError
from harness.prune import parse_age, prune

NOW = datetime(2026, 12, 1, 12, 0, 0)


def night(days_ago: int) -> datetime:
    return NOW - timedelta(days=days_ago)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Test "a": 6 nights (newest first: valid, valid, invalid, valid, unknown, valid), a broken
    one 40 days back and a run still going; test "b": one valid run 50 days back."""
    root = tmp_path / "results"
    for days, valid in ((1, True), (2, True), (3, False), (10, True), (35, "unknown"), (60, True)):
        fake_run(root, "a", night(days), valid)
    broken = fake_run(root, "a", night(40), True)
    (broken / "results.json").write_text("{")
    going = root / "a" / night(70).strftime("%Y%m%dT%H%M%S")
    going.mkdir()
    (going / "history.jsonl").write_text("")
    b = fake_run(root, "b", night(50), True)
    (root / "b" / "latest").symlink_to(b)
    return root


def run_prune(root: Path, **options) -> list[str]:
    said: list[str] = []
    prune(root, NOW.timestamp(), options.pop("keep", None), options.pop("older_than", None), say=said.append,
          **options)
    return said


def test_keep_n_per_test_spares_invalid_unknown_broken_and_running(root: Path) -> None:
    said = run_prune(root, keep=2)
    gone = [line.split()[1] for line in said if line.startswith("removed a/") or line.startswith("removed b/")]
    assert gone == [f"a/{night(10):%Y%m%dT%H%M%S}", f"a/{night(60):%Y%m%dT%H%M%S}"]
    assert (root / "b").is_dir(), "b has one run: within --keep 2"
    assert (root / "a" / f"{night(70):%Y%m%dT%H%M%S}").is_dir(), "a run still going is not a run to prune"
    assert "kept 1 old invalid run (--include-invalid removes them)" in said
    assert "kept 1 old unknown run (--include-unknown removes them)" in said
    assert any(line.startswith("kept 1 old broken run") for line in said)
    assert said[-1].startswith("removed 2 runs, ")


def test_older_than_and_keep_together_remove_only_what_neither_spares(root: Path) -> None:
    run_prune(root, keep=1, older_than=parse_age("30d"))
    left = {p.name for p in (root / "a").iterdir()}
    assert f"{night(60):%Y%m%dT%H%M%S}" not in left and f"{night(10):%Y%m%dT%H%M%S}" in left
    assert (root / "b").exists(), "--keep 1 spares b's newest run however old"


def test_include_invalid_and_dry_run(root: Path) -> None:
    before = sorted(p.name for p in root.rglob("*"))
    said = run_prune(root, keep=0, include_invalid=True, include_unknown=True, dry_run=True)
    assert sorted(p.name for p in root.rglob("*")) == before, "a dry run removes nothing"
    assert said[-1].startswith("would remove 7 runs") and said[-1].endswith("(dry run: nothing was removed)")
    run_prune(root, keep=0, include_invalid=True, include_unknown=True)
    left = sorted(p.name for p in (root / "a").iterdir())
    assert left == sorted([f"{night(40):%Y%m%dT%H%M%S}", f"{night(70):%Y%m%dT%H%M%S}"]), "broken and running stay"
    assert not (root / "b").exists(), "its last run and dangling latest link gone, the empty test folder goes"


def test_prune_arguments() -> None:
    assert parse_age("30d") == 30 * 86400 and parse_age("12h") == 43200 and parse_age("1.5w") == 1.5 * 7 * 86400
    for bad in ("30", "d", "-1d", "1y", "nan d"):
        with pytest.raises(UsageError, match="--older-than"):
            parse_age(bad)
    with pytest.raises(UsageError, match="--keep N or --older-than"):
        prune(Path("."), NOW.timestamp(), None, None)


def test_prune_from_the_command_line(root: Path) -> None:
    done = harness("prune", "--results", str(root), "--keep", "5", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "would remove a/" in done.stdout and (root / "a" / f"{night(60):%Y%m%dT%H%M%S}").is_dir()
    for args, words in ((["--older-than", "soon"], ["--older-than", "unit"]), ([], ["--keep N or --older-than"]),
                        (["--keep", "-1"], ["--keep", "0 or more"])):
        done = harness("prune", "--results", str(root), *args)
        assert done.returncode == 254
        assert_one_line(done.stderr, *words)
