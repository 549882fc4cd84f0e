"""Schedule files: parsing and its one-line errors, the timed player, and a recorded run turned into one."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from checkers.history import HistoryWriter, read_history
from harness.cli import EXIT_USAGE, main
from harness.errors import UsageError
from harness.nemesis.schedule import as_ran
from harness.nemesis.schedule_file import TimedFault, parse_schedule, read_schedule, specs, write_schedule
from harness.nemesis.timed import TimedSchedule
from harness.replay import replayed_schedule, run_arguments
from harness.run import end_after_schedule


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "schedule.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_a_file_reads_into_timed_faults_and_back(tmp_path: Path) -> None:
    faults = [TimedFault(1.0, "partition:leader", 2.5), TimedFault(4.0, "kill", 1.0, ("n2", "n4"))]
    path = tmp_path / "s.json"
    write_schedule(path, faults, replays="somewhere")
    assert read_schedule(path) == faults
    assert [f.spec for f in faults] == ["partition:leader", "kill:n2+n4"], "pinned nodes replace the target"
    assert specs(faults + faults) == ["partition:leader", "kill:n2+n4"]


@pytest.mark.parametrize("data, message", [
    ("{", "schedule.json:1: not JSON"),
    ([], 'a schedule file is an object {"version": 1'),
    ({"version": 2, "faults": []}, 'a schedule file is an object {"version": 1'),
    ({"version": 1, "faults": [{"at": 0, "nemesis": "kill"}]}, "faults[0]: 'duration' must be a number"),
    ({"version": 1, "faults": [{"at": -1, "nemesis": "kill", "duration": 1}]}, "faults[0]: 'at' must be"),
    ({"version": 1, "faults": [{"at": 0, "nemesis": "kill", "duration": 0}]}, "faults[0]: 'duration' must be"),
    ({"version": 1, "faults": [{"at": 0, "nemesis": "kill", "duration": True}]}, "faults[0]: 'duration' must be"),
    ({"version": 1, "faults": [{"at": 0, "nemesis": "chaos", "duration": 1}]}, "faults[0]: unknown nemesis chaos"),
    ({"version": 1, "faults": [{"at": 0, "nemesis": "kill,pause", "duration": 1}]}, "faults[0]: 'nemesis' must be one"),
    ({"version": 1, "faults": [{"at": 0, "nemesis": "lag-then-kill:x", "duration": 1}]}, "takes no argument"),
    ({"version": 1, "faults": [{"at": 0, "nemesis": "kill", "duration": 1, "nodes": []}]}, "faults[0]: 'nodes' must"),
    ({"version": 1, "faults": [{"at": 0, "nemesis": "lag-then-kill", "duration": 1, "nodes": ["n1"]}]},
     "faults[0]: lag-then-kill is a fault package"),
    ({"version": 1, "faults": [{"at": 0, "nemesis": "kill", "duration": 1, "when": 3}]},
     "faults[0]: unknown field(s) when"),
    ({"version": 1, "faults": [{"at": 0, "nemesis": "kill", "duration": 5}, {"at": 3, "nemesis": "pause",
                                                                             "duration": 1}]},
     "faults[1]: pause starts at 3 s, before faults[0] (kill) is healed (5 s), and the heal of either resets "
     "every node process"),
    ({"version": 1, "faults": [{"at": 0, "nemesis": "kill", "duration": 5, "nodes": ["n1"]},
                               {"at": 2, "nemesis": "kill", "duration": 1, "nodes": ["n2"]}]},
     "faults[1]: kill starts at 2 s, before faults[0] (kill) is healed (5 s)"),
    ({"version": 1, "faults": [{"at": 0, "nemesis": "partition:leader", "duration": 5},
                               {"at": 4.5, "nemesis": "partition:leader", "duration": 1}]},
     "faults[1]: partition:leader starts at 4.5 s, before faults[0] (partition:leader) is healed (5 s), "
     "and the heal of either resets every cut"),
    ({"version": 1, "faults": [{"at": 0, "nemesis": "partition", "duration": 9},
                               {"at": 2, "nemesis": "kill", "duration": 1},
                               {"at": 5, "nemesis": "lag-then-kill", "duration": 1}]},
     "faults[2]: lag-then-kill starts at 5 s, before faults[0] (partition) is healed (9 s), and lag-then-kill is a "
     "fault package, whose heal resets everything"),
    ({"version": 1, "faults": [{"at": 5, "nemesis": "kill", "duration": 1},
                               {"at": 3, "nemesis": "partition", "duration": 1}]},
     "faults[1]: starts at 3 s, before faults[0] (5 s); list the faults in the order they start"),
])
def test_a_bad_file_is_one_error_naming_the_file_and_entry(tmp_path: Path, data: Any, message: str) -> None:
    path = write(tmp_path, data)
    with pytest.raises(UsageError) as caught:
        read_schedule(path)
    assert str(path) in str(caught.value) and message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_run_refuses_a_bad_schedule_before_anything_starts(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = write(tmp_path, {"version": 1, "faults": [{"at": 0, "nemesis": "kill", "duration": 1, "nodes": ["n9"]}]})
    code = main(["run", "--schedule", str(path), "--nodes", "3", "--results", str(tmp_path / "r")])
    assert code == EXIT_USAGE
    assert "n9" in capsys.readouterr().err
    assert not (tmp_path / "r").exists(), "a refused run leaves no results folder"


def test_faults_whose_heals_reset_different_things_may_overlap(tmp_path: Path) -> None:
    faults = [TimedFault(0.0, "partition:halves", 10.0), TimedFault(1.0, "packet", 3.0),
              TimedFault(2.0, "kill:one", 2.0), TimedFault(3.0, "clock", 1.0), TimedFault(4.0, "pause", 1.0),
              TimedFault(10.0, "partition", 1.0), TimedFault(11.0, "lag-then-kill", 1.0)]
    path = tmp_path / "s.json"
    write_schedule(path, faults)
    assert read_schedule(path) == faults, "a kill after a kill's heal is due, a partition at the first's end"


class Fake:
    """Records each injection and heal with its time (since `t0`) in `log`, shared by several fakes."""

    def __init__(self, name: str, log: list[tuple[str, str, float]] | None = None, heal_s: float = 0.0) -> None:
        self.name = name
        self.log = log if log is not None else []
        self.heal_s = heal_s
        self.t0 = time.monotonic()

    def inject(self) -> dict[str, Any]:
        self.log.append(("inject", self.name, time.monotonic() - self.t0))
        return {"kind": self.name, "nodes": ["n1"]}

    def heal(self) -> dict[str, Any]:
        time.sleep(self.heal_s)
        self.log.append(("heal", self.name, time.monotonic() - self.t0))
        return {"kind": f"heal-{self.name}"}


def play(tmp_path: Path, nemeses: dict[str, Fake], faults: list[TimedFault]) -> list[Any]:
    """Play `faults` to the end without a final heal; the history's events."""
    with HistoryWriter(tmp_path / "h.jsonl") as history:
        player = TimedSchedule(nemeses, faults, history)  # type: ignore[arg-type]
        player.start()
        assert player.played.wait(10)
        player.stop()
        assert not player.errors
    return read_history(tmp_path / "h.jsonl")


def test_overlapping_faults_are_each_healed_at_their_own_time_and_only_themselves(tmp_path: Path) -> None:
    log: list[tuple[str, str, float]] = []
    nemeses = {s: Fake(s, log) for s in ("partition", "kill", "clock")}
    # the kill inside the partition; the clock after both, planned after the partition's heal is due
    faults = [TimedFault(0.1, "partition", 0.6), TimedFault(0.3, "kill", 0.2), TimedFault(0.8, "clock", 0.1)]
    events = play(tmp_path, nemeses, faults)
    assert [(what, name) for what, name, _ in log] == [
        ("inject", "partition"), ("inject", "kill"), ("heal", "kill"), ("heal", "partition"),
        ("inject", "clock"), ("heal", "clock")]
    at = {(what, name): t for what, name, t in log}
    for what, name, planned in [("inject", "partition", 0.1), ("inject", "kill", 0.3), ("heal", "kill", 0.5),
                                ("heal", "partition", 0.7), ("inject", "clock", 0.8), ("heal", "clock", 0.9)]:
        assert planned - 0.005 <= at[what, name] < planned + 0.15, (what, name, at)
    ran = as_ran(events)
    assert [r["nemesis"] for r in ran] == ["partition", "kill", "clock"]
    partition, kill, _ = ran
    assert partition["applied_s"] < kill["start_s"] < kill["stop_s"] < partition["stop_s"], "the kill inside"


def test_a_fault_planned_after_another_waits_for_its_heal_however_late(tmp_path: Path) -> None:
    log: list[tuple[str, str, float]] = []
    nemeses = {"a": Fake("a", log, heal_s=0.3), "b": Fake("b", log)}
    play(tmp_path, nemeses, [TimedFault(0.0, "a", 0.1), TimedFault(0.15, "b", 0.1)])
    assert [(what, name) for what, name, _ in log] == [("inject", "a"), ("heal", "a"), ("inject", "b"),
                                                       ("heal", "b")]
    assert log[1][2] >= 0.4 and log[2][2] >= log[1][2], "as in a file of one fault after another"


def test_a_spec_plays_again_after_its_heal_while_another_fault_stays(tmp_path: Path) -> None:
    log: list[tuple[str, str, float]] = []
    events = play(tmp_path, {"a": Fake("a", log), "b": Fake("b", log)},
                  [TimedFault(0.0, "a", 0.25), TimedFault(0.125, "b", 0.5), TimedFault(0.25, "a", 0.125)])
    assert [(what, name) for what, name, _ in log] == [("inject", "a"), ("inject", "b"), ("heal", "a"),
                                                       ("inject", "a"), ("heal", "a"), ("heal", "b")]
    ran = as_ran(events)
    assert [r["nemesis"] for r in ran] == ["a", "b", "a"], "start-/stop- paired by name, in order of start"
    assert ran[0]["stop_s"] <= ran[2]["start_s"] and ran[2]["stop_s"] < ran[1]["stop_s"]


def test_faults_one_after_another_play_as_before(tmp_path: Path) -> None:
    faults = [TimedFault(0.1, "a", 0.2), TimedFault(0.5, "b", 0.1), TimedFault(0.7, "a", 0.1)]
    with HistoryWriter(tmp_path / "h.jsonl") as history:
        player = TimedSchedule({"a": Fake("a"), "b": Fake("b")}, faults, history)
        player.start()
        while player._thread.is_alive():
            time.sleep(0.05)
        player.stop()
        player.final_heal()
    events = read_history(tmp_path / "h.jsonl")
    ran = as_ran(events)
    assert [r["nemesis"] for r in ran] == ["a", "b", "a"]
    for r, f in zip(ran, faults, strict=True):
        assert r["start_s"] >= f.at - 0.001, "never early (times are rounded to ms)"
        assert r["stop_s"] - r["applied_s"] >= f.duration - 0.002, "in place at least its duration"
    assert [e.f for e in events if e.type == "info"][-2:] == ["stop-a", "stop-b"], "the final heal heals every one"
    assert not player.errors


def test_stopping_the_player_leaves_the_rest_unplayed(tmp_path: Path) -> None:
    with HistoryWriter(tmp_path / "h.jsonl") as history:
        player = TimedSchedule({"a": Fake("a")}, [TimedFault(0.0, "a", 60.0), TimedFault(70.0, "a", 1.0)], history)
        player.start()
        while not [e for e in history.events if e.type == "info"]:
            time.sleep(0.02)
        player.stop()
        player.final_heal()
    assert [e.f for e in read_history(tmp_path / "h.jsonl") if e.type == "invoke"] == ["start-a", "stop-a"]


def recorded(tmp_path: Path) -> dict[str, Any]:
    (tmp_path / "history.jsonl").write_text("")
    return {
        "seed": 7, "timings": {"nemesis_start_s": 10.0},
        "config": {"argv": ["harness", "run", "--bug", "stale-read", "--schedule", "old.json", "--nodes", "3"]},
        "schedule": [
            {"nemesis": "partition:leader", "start_s": 15.0, "applied_s": 16.0, "stop_s": 21.0, "leader": "n2",
             "grudge": {"n1": ["n2"], "n2": ["n1", "n3"], "n3": ["n2"]}},
            {"nemesis": "kill:majority", "start_s": 25.0, "applied_s": 25.5, "stop_s": 30.5, "nodes": ["n3", "n1"]},
            {"nemesis": "partition", "start_s": 35.0, "applied_s": 35.2, "stop_s": 40.0,
             "grudge": {"n1": ["n2"], "n2": ["n3"], "n3": ["n1"]}},
            {"nemesis": "lag-then-kill", "start_s": 45.0, "applied_s": 47.0, "stop_s": 50.0, "nodes": ["n1"]},
        ],
    }


def test_overlapping_faults_replay_overlapping(tmp_path: Path) -> None:
    results = recorded(tmp_path)
    results["schedule"] = [
        {"nemesis": "partition:halves", "start_s": 12.0, "applied_s": 12.5, "stop_s": 18.5},
        {"nemesis": "kill:one", "start_s": 14.0, "applied_s": 14.2, "stop_s": 16.3, "nodes": ["n3"]},
        {"nemesis": "partition:leader", "start_s": 17.9, "applied_s": 18.0, "stop_s": 19.3},  # rounded, say
    ]
    faults = replayed_schedule(results, tmp_path, pin_nodes=False)
    assert faults == [TimedFault(2.0, "partition:halves", 6.0), TimedFault(4.0, "kill:one", 2.1),
                      TimedFault(8.0, "partition:leader", 1.3)], \
        "the kill inside the partition; the second partition not before the first one's recorded duration ends"
    assert parse_schedule({"version": 1, "faults": [f.to_json() for f in faults]}, "replayed") == faults


def test_a_recorded_run_replays_at_the_same_offsets_resolving_targets_again(tmp_path: Path) -> None:
    faults = replayed_schedule(recorded(tmp_path), tmp_path, pin_nodes=False)
    assert faults == [TimedFault(5.0, "partition:leader", 5.0), TimedFault(15.0, "kill:majority", 5.0),
                      TimedFault(25.0, "partition", 4.8), TimedFault(35.0, "lag-then-kill", 3.0)]


def test_pinned_a_replay_hits_the_same_nodes_where_nodes_can_say_it(tmp_path: Path) -> None:
    faults = replayed_schedule(recorded(tmp_path), tmp_path, pin_nodes=True)
    assert [f.nodes for f in faults] == [("n2",), ("n1", "n3"), None, None], \
        "a two-sided cut pins its smaller side; a ring and a package cannot be pinned"
    assert [f.spec for f in faults][:2] == ["partition:n2", "kill:n1+n3"]


def test_the_replayed_command_drops_the_old_schedule_file(tmp_path: Path) -> None:
    assert run_arguments(recorded(tmp_path)) == ["--bug", "stale-read", "--nodes", "3"]


def test_replay_refuses_a_folder_that_is_not_a_run(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["replay", str(tmp_path)]) == EXIT_USAGE
    assert f"{tmp_path}/results.json: cannot read it" in capsys.readouterr().err
    (tmp_path / "results.json").write_text(json.dumps({"valid": True, "config": {"argv": ["harness", "check"]}}))
    assert main(["replay", str(tmp_path)]) == EXIT_USAGE
    assert "no recorded `harness run` command line" in capsys.readouterr().err


@pytest.mark.parametrize("argv, says", [
    (["run", "--schedule", "s.json", "--nemesis", "kill"], "leave out --nemesis"),
    (["hunt", "--time-limit", "30"], "hunt does not take --time-limit"),
    (["hunt", "--junit", "j.xml"], "hunt does not take --junit"),
])
def test_options_a_schedule_or_a_hunt_would_ignore_are_refused(argv: list[str], says: str,
                                                              capsys: pytest.CaptureFixture) -> None:
    assert main(argv) == EXIT_USAGE
    assert says in capsys.readouterr().err


class SlowFake(Fake):
    """A fault whose injection takes `inject_s`, like a fault package on a loaded host."""

    def __init__(self, name: str, inject_s: float) -> None:
        super().__init__(name)
        self.inject_s = inject_s

    def inject(self) -> dict[str, Any]:
        time.sleep(self.inject_s)
        return super().inject()


class Workers:
    """Stands in for the Interpreter: its workers run until stopped or until `time_limit` has passed."""

    def __init__(self, time_limit: float) -> None:
        self.end = time.monotonic() + time_limit
        self.stopped_at: float | None = None

    def join(self, timeout: float) -> bool:
        time.sleep(max(0.0, min(self.end, time.monotonic() + timeout) - time.monotonic()))
        return time.monotonic() >= self.end

    def stop(self) -> None:
        self.stopped_at = time.monotonic()


def test_a_slow_injection_delays_no_other_fault(tmp_path: Path) -> None:
    log: list[tuple[str, str, float]] = []
    slow = SlowFake("a", 0.4)
    slow.log = log
    play(tmp_path, {"a": slow, "b": Fake("b", log)}, [TimedFault(0.0, "a", 0.5), TimedFault(0.1, "b", 0.1)])
    assert [(what, name) for what, name, _ in log] == [("inject", "b"), ("heal", "b"), ("inject", "a"),
                                                       ("heal", "a")]
    assert log[1][2] < 0.3, "b healed while a was still being injected"


def test_the_final_heal_waits_for_an_injection_in_progress(tmp_path: Path) -> None:
    with HistoryWriter(tmp_path / "h.jsonl") as history:
        player = TimedSchedule({"a": SlowFake("a", 0.3)}, [TimedFault(0.0, "a", 60.0)], history)
        player.start()
        time.sleep(0.05)
        player.stop(timeout=0.01)
        player.final_heal()
    assert [(e.f, e.type) for e in read_history(tmp_path / "h.jsonl")] == [
        ("start-a", "invoke"), ("start-a", "info"), ("stop-a", "invoke"), ("stop-a", "info")]


def test_a_run_with_a_tail_ends_that_long_after_the_last_heal_however_late(tmp_path: Path) -> None:
    faults = [TimedFault(0.1, "a", 0.2), TimedFault(0.4, "a", 0.1)]
    with HistoryWriter(tmp_path / "h.jsonl") as history:
        player = TimedSchedule({"a": SlowFake("a", 0.3)}, faults, history)
        workers = Workers(time_limit=10.0)
        player.start()
        end_after_schedule(workers, player, 10.0, 0.5)  # type: ignore[arg-type]
        healed = history.events[-1]
        stopped = history.now()
        player.stop()
    assert (healed.f, healed.type) == ("stop-a", "info") and workers.stopped_at is not None
    # injections take 0.3 s, so the second fault starts late (0.6 s) and is healed at 1.0 s, not the planned 0.5 s
    assert healed.time / 1e9 > 0.95
    assert 0.45 < (stopped - healed.time) / 1e9 < 0.8, "stopped a tail after the heal had finished"


def test_a_run_whose_schedule_outlasts_the_time_limit_ends_at_the_limit(tmp_path: Path) -> None:
    with HistoryWriter(tmp_path / "h.jsonl") as history:
        player = TimedSchedule({"a": Fake("a")}, [TimedFault(0.0, "a", 60.0)], history)
        workers = Workers(time_limit=0.3)
        player.start()
        end_after_schedule(workers, player, 0.3, 5.0)  # type: ignore[arg-type]
        player.stop()
        player.final_heal()
    assert workers.stopped_at is None, "the workers end by themselves at the time limit"


def test_tail_needs_a_schedule(capsys: pytest.CaptureFixture) -> None:
    assert main(["run", "--tail", "5"]) == EXIT_USAGE
    assert "--tail ends a run after its --schedule's last heal" in capsys.readouterr().err
