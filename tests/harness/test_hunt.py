"""harness hunt without containers: the schedule strategy, and the search and shrink against a fake run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.hunt import Hunt, _lay_out, fault_pool, schedules, size
from harness.nemesis.schedule_file import TimedFault, parse_schedule
from harness.test import make_test

POOL = ["partition", "partition:leader", "kill", "kill:leader", "lag-then-kill"]


@settings(max_examples=200, deadline=None)
@given(st.data(), st.floats(5, 120), st.integers(1, 6))
def test_every_drawn_schedule_is_a_valid_schedule_file_inside_the_run(data: Any, run_time: float, most: int) -> None:
    faults = data.draw(schedules(POOL, run_time, most))
    assert 1 <= len(faults) <= most
    assert parse_schedule({"version": 1, "faults": [f.to_json() for f in faults]}, "drawn") == faults
    assert all(f.at < run_time - 1 and f.nemesis in POOL for f in faults)


def test_a_fault_may_start_inside_the_previous_one_unless_their_heals_clash() -> None:
    drawn = [(2, "partition", 6), (-4, "kill", 2), (-10, "partition:leader", 1), (-1, "lag-then-kill", 3)]
    assert _lay_out(drawn, 40.0) == [TimedFault(2.0, "partition", 6.0), TimedFault(4.0, "kill", 2.0),
                                     TimedFault(8.0, "partition:leader", 1.0), TimedFault(9.0, "lag-then-kill", 3.0)], \
        "a kill inside the partition; a second partition shifted to the first's end; a package after everything"
    assert _lay_out([(-3, "kill", 2), (5, "kill", 1)], 40.0) == [TimedFault(0.0, "kill", 2.0),
                                                                   TimedFault(7.0, "kill", 1.0)]
    assert _lay_out([(0, "partition", 5), (-2, "pause", 1), (10, "kill", 1)], 10.0) == \
        [TimedFault(0.0, "partition", 5.0), TimedFault(3.0, "pause", 1.0)], "none starts in the run's last second"


def test_the_search_draws_overlaps_and_shrinks_one_to_its_core(tmp_path: Path, clock: list[float]) -> None:
    def kill_inside_a_partition(faults: list[TimedFault], limit: float) -> tuple[Any, Path, bool]:
        clock[0] += 1
        fails = any(k.nemesis.startswith("kill") and p.nemesis.startswith("partition") and p.at <= k.at < p.end
                    for p in faults for k in faults)
        return not fails, tmp_path / f"run{clock[0]:g}", False

    found = Hunt(kill_inside_a_partition, 20.0, 1e9, say=lambda line: None).search(POOL, seed=3)
    assert found.stopped == "shrunk" and found.smallest is not None
    assert found.smallest.faults == [TimedFault(0.0, "partition", 1.0), TimedFault(0.0, "kill", 1.0)], \
        "two faults, simplest specs, shortest, starting together"
    assert size(found.smallest.faults) == min(size(t.faults) for t in found.tried if t.valid is False)


def test_a_smaller_schedule_is_one_with_less_overlap() -> None:
    apart = [TimedFault(0.0, "partition", 2.0), TimedFault(2.0, "kill", 2.0)]
    inside = [TimedFault(0.0, "partition", 2.0), TimedFault(1.0, "kill", 2.0)]
    assert size(apart) < size(inside)


def test_the_pool_is_what_the_system_can_take() -> None:
    raft = fault_pool(make_test(db="raft", nemesis="none").db)
    assert {"partition", "partition:leader", "kill:followers", "clock:leader", "lag-then-kill"} <= set(raft)
    etcd = fault_pool(make_test(db="etcd", nemesis="none").db)
    assert not [s for s in etcd if s.startswith("clock")], "etcd (a Go binary) takes no clock fault"


class FakeCluster:
    """INVALID whenever a partition:leader stays at least 3 s; flaky if told to be (fails only once per schedule)."""

    def __init__(self, tmp_path: Path, flaky: bool = False) -> None:
        self.tmp_path = tmp_path
        self.flaky = flaky
        self.seen: set[tuple[TimedFault, ...]] = set()
        self.runs = 0

    def __call__(self, faults: list[TimedFault], time_limit: float) -> tuple[Any, Path, bool]:
        self.runs += 1
        fails = any(f.nemesis == "partition:leader" and f.duration >= 3 for f in faults)
        if self.flaky and tuple(faults) in self.seen:
            fails = False
        self.seen.add(tuple(faults))
        return (not fails), self.tmp_path / f"run{self.runs}", False


def test_a_failing_schedule_is_found_and_shrunk_to_its_core(tmp_path: Path) -> None:
    fake = FakeCluster(tmp_path)
    found = Hunt(fake, 20.0, 600.0, say=lambda line: None).search(POOL, seed=3)
    assert found.stopped == "shrunk"
    assert found.smallest is not None
    assert found.smallest.faults == [TimedFault(0.0, "partition:leader", 3.0)], "one fault, as short and early as fails"
    assert found.smallest.valid is False and found.smallest.run_dir.name.startswith("run")


def test_the_same_seed_tries_the_same_schedules(tmp_path: Path) -> None:
    tried = [[t.faults for t in Hunt(FakeCluster(tmp_path), 20.0, 600.0, say=lambda line: None)
              .search(POOL, seed=11).tried] for _ in range(2)]
    assert tried[0] == tried[1]


def test_a_schedule_that_does_not_fail_again_keeps_the_smallest_that_did(tmp_path: Path) -> None:
    found = Hunt(FakeCluster(tmp_path, flaky=True), 20.0, 600.0, say=lambda line: None).search(POOL, seed=3)
    assert found.stopped == "flaky"
    assert found.smallest is not None and found.smallest.valid is False
    assert any(f.nemesis == "partition:leader" and f.duration >= 3 for f in found.smallest.faults)


def test_an_exhausted_budget_stops_the_search_and_says_so(tmp_path: Path) -> None:
    fake = FakeCluster(tmp_path)
    found = Hunt(fake, 20.0, 0.0, say=lambda line: None).search(POOL, seed=3)
    assert (found.stopped, found.tried, found.smallest, fake.runs) == ("budget", [], None, 0)


def test_an_interrupted_run_ends_the_hunt(tmp_path: Path) -> None:
    def interrupted(faults: list[TimedFault], time_limit: float) -> tuple[Any, Path, bool]:
        return "unknown", tmp_path, True

    assert Hunt(interrupted, 20.0, 600.0, say=lambda line: None).search(POOL, seed=3).stopped == "interrupted"


def test_a_budget_spent_while_shrinking_keeps_the_smallest_that_failed(tmp_path: Path, monkeypatch: Any) -> None:
    clock = [0.0]
    monkeypatch.setattr("harness.hunt.time.monotonic", lambda: clock[0])

    def two_faults_fail_and_each_run_takes_10_s(faults: list[TimedFault], limit: float) -> tuple[Any, Path, bool]:
        clock[0] += 10
        return len(faults) < 2, tmp_path / f"run{clock[0]:g}", False

    found = Hunt(two_faults_fail_and_each_run_takes_10_s, 20.0, 35.0, say=lambda line: None).search(POOL, seed=5)
    assert found.stopped == "budget" and len(found.tried) == 4
    assert found.smallest is not None and len(found.smallest.faults) >= 2
    assert size(found.smallest.faults) == min(size(t.faults) for t in found.tried if t.valid is False)



class FailsOn(FakeCluster):
    """INVALID whenever the schedule has one of `specs`, however long; each run takes a second of `clock`."""

    def __init__(self, tmp_path: Path, clock: list[float], *specs: str) -> None:
        super().__init__(tmp_path)
        self.clock = clock
        self.specs = specs

    def __call__(self, faults: list[TimedFault], time_limit: float) -> tuple[Any, Path, bool]:
        self.runs += 1
        self.clock[0] += 1
        return not any(f.nemesis in self.specs for f in faults), self.tmp_path / f"run{self.runs}", False


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The hunt's clock, moved only by the runs: a budget of N s is N runs."""
    now = [0.0]
    monkeypatch.setattr("harness.hunt.time.monotonic", lambda: now[0])
    return now


def test_a_focus_is_drawn_about_half_the_time_and_shrinking_prefers_it(tmp_path: Path, clock: list[float]) -> None:
    focus = ["lag-then-kill"]
    found = Hunt(FailsOn(tmp_path, clock), 20.0, 100.0, say=lambda line: None).search(POOL, seed=3, focus=focus)
    drawn = [f.nemesis for t in found.tried for f in t.faults]
    assert found.stopped == "budget" and 0.3 < drawn.count("lag-then-kill") / len(drawn) < 0.8, drawn
    either = ("partition:leader", "lag-then-kill")
    plain = Hunt(FailsOn(tmp_path, clock, *either), 20.0, 1e9, say=lambda line: None).search(POOL, seed=3)
    focused = Hunt(FailsOn(tmp_path, clock, *either), 20.0, 1e9, say=lambda line: None).search(POOL, seed=3,
                                                                                               focus=focus)
    assert plain.smallest is not None and plain.smallest.faults == [TimedFault(0.0, "partition:leader", 1.0)]
    assert focused.smallest is not None and focused.smallest.faults == [TimedFault(0.0, "lag-then-kill", 1.0)]


def test_without_a_focus_the_draws_are_the_pools_alone(tmp_path: Path, clock: list[float]) -> None:
    found = Hunt(FailsOn(tmp_path, clock), 20.0, 50.0, say=lambda line: None).search(["kill", "partition"], seed=3)
    assert {f.nemesis for t in found.tried for f in t.faults} == {"kill", "partition"}
