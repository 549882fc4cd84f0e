"""Bug presets: a named seeded bug fills in its exposing setup, what the user gave wins, the record is complete."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.cli import EXIT_INVALID, EXIT_UNKNOWN, EXIT_USAGE, EXIT_VALID, main
from harness.presets import Setup, agreed, bugs_named, fill
from harness.run import RunOutcome

FORGET_VOTE = ["--db-opt", "pre-vote=false", "--db-opt", "election-timeout-ms=3000:9000", "--workload", "set",
               "--nemesis", "kill-during-election"]


class FakeRun:
    """Stands in for harness.run.run: keeps each test it is given, and answers with `verdicts` in turn."""

    def __init__(self, tmp_path: Path, verdicts: list[Any] | None = None) -> None:
        self.tmp_path = tmp_path
        self.tests: list[Any] = []
        self.verdicts = verdicts or [True]

    def __call__(self, test: Any, **_: Any) -> RunOutcome:
        self.tests.append(test)
        run_dir = self.tmp_path / f"run{len(self.tests)}"
        run_dir.mkdir()
        valid = self.verdicts[min(len(self.tests), len(self.verdicts)) - 1]
        results = {"valid": valid, "counts": {}, "seed": test.options.seed, "run_id": "x", "problems": [],
                   "interrupted": None, "failure": None, "schedule": [], "timings": {"nemesis_start_s": 0.0},
                   "config": test.describe()}
        (run_dir / "results.json").write_text(json.dumps(results, default=str))  # as a run does: a hunt replays it
        return RunOutcome(run_dir, results)


@pytest.fixture
def fake_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeRun:
    fake = FakeRun(tmp_path)
    monkeypatch.setattr("harness.run.run", fake)
    return fake


def test_a_named_bug_fills_what_the_user_did_not_give(fake_run: FakeRun, capsys: pytest.CaptureFixture) -> None:
    assert main(["run", "--bug", "forget-vote", "--nodes", "3"]) == EXIT_VALID
    [test] = fake_run.tests
    assert test.db.settings()["pre-vote"] is False and test.db.settings()["election-timeout-ms"] == [3000, 9000]
    assert (test.workload_spec, test.nemesis) == ("set", ["kill-during-election"])
    assert test.bug_preset == FORGET_VOTE and test.describe()["bug_preset"] == FORGET_VOTE
    assert test.argv == ["harness", "run", "--bug", "forget-vote", "--nodes", "3", *FORGET_VOTE], \
        "the recorded command is complete: a replay needs no preset"
    out = capsys.readouterr().out
    assert f"--bug forget-vote: using its exposing setup: {' '.join(FORGET_VOTE)} (give the option to override)" in out


def test_what_the_user_gives_wins_even_at_its_default_value(fake_run: FakeRun) -> None:
    main(["run", "--db-opt", "bug=forget-vote", "--db-opt", "pre-vote=true", "--workload", "register",
          "--nemesis", "partition", "--nodes", "3"])
    [test] = fake_run.tests
    assert test.db.settings()["pre-vote"] is True, "the user's pre-vote=true beats the table's pre-vote=false"
    assert test.db.settings()["election-timeout-ms"] == [3000, 9000], "filled key by key"
    assert (test.workload_spec, test.nemesis) == ("register", ["partition"]), "given at their defaults: still given"
    assert test.bug_preset == ["--db-opt", "election-timeout-ms=3000:9000"]


def test_workload_options_come_with_the_table_workload_only(fake_run: FakeRun) -> None:
    main(["run", "--bug", "commit-old-term", "--nodes", "3"])
    main(["run", "--bug", "commit-old-term", "--workload", "register", "--nodes", "3"])
    filled, mine = fake_run.tests
    assert (filled.workload_spec, filled.workload_opts) == ("set", ("read-with=read",))
    assert (mine.workload_spec, mine.workload_opts, mine.nemesis) == ("register", (), ["crash-after-replicate"])


def test_no_bug_no_preset(fake_run: FakeRun, capsys: pytest.CaptureFixture) -> None:
    main(["run", "--nodes", "3"])
    [test] = fake_run.tests
    assert (test.workload_spec, test.nemesis, test.bug_preset) == ("register", ["partition"], None)
    assert "exposing setup" not in capsys.readouterr().out


def test_bugs_whose_setups_conflict_fill_only_what_they_agree_on(fake_run: FakeRun,
                                                                 capsys: pytest.CaptureFixture) -> None:
    main(["run", "--bug", "stale-read", "--bug", "early-ack", "--nodes", "3"])
    main(["run", "--bug", "forget-vote", "--bug", "stale-read", "--nodes", "3"])
    agree, conflict = fake_run.tests
    assert agree.bug_preset == ["--workload", "register", "--nemesis", "partition:leader"]
    assert conflict.bug_preset == [] and (conflict.workload_spec, conflict.nemesis) == ("register", ["partition"])
    out = capsys.readouterr().out
    assert "their setups differ in --db-opt pre-vote, --db-opt election-timeout-ms, --workload, --nemesis" in out


def test_a_schedule_keeps_its_faults(fake_run: FakeRun, tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"version": 1, "faults": [{"at": 1, "nemesis": "kill", "duration": 2}]}))
    main(["run", "--bug", "forget-vote", "--schedule", str(path), "--tail", "5", "--nodes", "3"])
    [test] = fake_run.tests
    assert test.nemesis == ["kill"] and "--nemesis" not in test.bug_preset and test.workload_spec == "set"
    assert test.options.tail == 5 and test.describe()["tail"] == 5


def test_the_preset_logic() -> None:
    assert bugs_named(["bug=a,b", "x=1", "bug=c"]) == ["a", "b", "c"]
    row = Setup({"bug": "a", "k": "1", "j": "2"}, "set", {"w": "1"}, "kill")
    assert fill(Setup({"k": "0"}, None, {}, None), row) == Setup({"j": "2"}, "set", {"w": "1"}, "kill")
    assert fill(Setup({}, "bank", {}, "none"), row) == Setup({"k": "1", "j": "2"}, None, {}, None)
    both, differ = agreed([row, Setup({"bug": "b", "k": "1"}, "set", {"w": "2"}, "kill")])
    assert both == Setup({"k": "1"}, "set", {}, "kill") and differ == ["--db-opt j", "--workload-opt w"]


def test_the_hunt_focuses_on_the_bug_faults_and_records_complete_runs(fake_run: FakeRun,
                                                                      capsys: pytest.CaptureFixture) -> None:
    fake_run.verdicts = [False]
    code = main(["hunt", "--bug", "forget-vote", "--nodes", "3", "--budget", "1", "--seed", "3", "--max-faults", "1"])
    assert code == EXIT_INVALID
    out = capsys.readouterr().out
    assert "focus kill-during-election (half the faults), the others from partition," in out
    assert "runs of at most 60 s" in out, "a package focus gets longer runs"
    test = fake_run.tests[0]
    argv = test.argv
    assert argv[:2] == ["harness", "run"] and "--schedule" not in argv
    assert argv[argv.index("--time-limit") + 1] == "60" and argv[argv.index("--tail") + 1] == "10"
    assert {"pre-vote=false", "election-timeout-ms=3000:9000", "bug=forget-vote"} <= set(argv), argv
    assert argv[argv.index("--workload") + 1] == "set"
    assert test.bug_preset == FORGET_VOTE


def test_a_hunt_with_nemesis_given_draws_only_from_it(fake_run: FakeRun, capsys: pytest.CaptureFixture) -> None:
    main(["hunt", "--bug", "forget-vote", "--nemesis", "kill", "--nodes", "3", "--budget", "1", "--seed", "3",
          "--max-faults", "1"])
    out = capsys.readouterr().out
    assert "faults from kill" in out and "focus" not in out and "runs of at most 20 s" in out
    assert {f.nemesis for t in fake_run.tests for f in t.schedule} == {"kill"}


def test_a_replay_reruns_the_recorded_command_without_presets(fake_run: FakeRun, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture) -> None:
    main(["run", "--bug", "forget-vote", "--nodes", "3", "--seed", "9"])
    [original] = fake_run.tests
    recorded = tmp_path / "recorded"
    recorded.mkdir()
    (recorded / "results.json").write_text(json.dumps({
        "seed": 9, "valid": False, "schedule": [], "timings": {"nemesis_start_s": 1.0},
        "config": original.describe()}, default=str))
    capsys.readouterr()
    main(["replay", str(recorded)])
    replay = fake_run.tests[-1]
    assert "exposing setup" not in capsys.readouterr().out and replay.bug_preset is None
    assert replay.db.settings() == original.db.settings() and replay.workload_spec == "set"
    assert replay.argv == ["harness", "run", *original.argv[2:]]


def test_a_replay_with_tries_reruns_until_one_is_invalid(fake_run: FakeRun, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    main(["run", "--bug", "forget-vote", "--nodes", "3", "--seed", "9"])
    recorded = fake_run.tests[0]
    folder = tmp_path / "recorded"
    folder.mkdir()
    (folder / "results.json").write_text(json.dumps({
        "seed": 9, "valid": False, "schedule": [], "timings": {"nemesis_start_s": 1.0},
        "config": recorded.describe()}, default=str))
    again(fake_run, tmp_path / "tries1", [True, "unknown", False, True])
    assert main(["replay", str(folder), "--tries", "5"]) == EXIT_INVALID
    assert len(fake_run.tests) == 3, "stops at the first INVALID"
    out = capsys.readouterr().out
    assert "; try 3 of 5" in out and out.rstrip().endswith("replay: INVALID on try 3 of 5")

    again(fake_run, tmp_path / "tries2", [True, "unknown"])
    assert main(["replay", str(folder), "--tries", "3"]) == EXIT_UNKNOWN, "the worst verdict of the tries"
    assert len(fake_run.tests) == 3 and capsys.readouterr().out.rstrip().endswith("replay: not INVALID in 3 tries")
    with pytest.raises(SystemExit) as refused:
        main(["replay", str(folder), "--tries", "0"])
    assert refused.value.code == EXIT_USAGE and "argument --tries: must be positive" in capsys.readouterr().err


def again(fake_run: FakeRun, folder: Path, verdicts: list[Any]) -> None:
    """Start `fake_run` over: no tests yet, run folders under `folder`, these verdicts in turn."""
    folder.mkdir()
    fake_run.tmp_path, fake_run.tests, fake_run.verdicts = folder, [], verdicts
