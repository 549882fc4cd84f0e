"""Composing nemeses: seeded choice per tick, heal of the one in force, final heal of all, names parsed."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from checkers.history import HistoryWriter, read_history
from harness.errors import UsageError
from harness.nemesis.base import HealError
from harness.nemesis.clock import ClockNemesis, bump_offset, offset_text
from harness.nemesis.packet import FAULTS, delayer_args, draw, netem_args
from harness.nemesis.registry import BASIC, KINDS, check_abilities, parse_nemesis, prepare
from harness.nemesis.schedule import Schedule


class Fake:
    def __init__(self, name: str, fail_heal: bool = False) -> None:
        self.name = name
        self.fail_heal = fail_heal
        self.calls: list[str] = []

    def inject(self) -> dict[str, Any]:
        self.calls.append("inject")
        return {"kind": self.name}

    def heal(self) -> dict[str, Any]:
        self.calls.append("heal")
        if self.fail_heal:
            raise HealError(f"{self.name} stays broken")
        return {"kind": f"heal-{self.name}"}


def run_ticks(path: Path, seed: int, ticks: int) -> list[str]:
    fakes = [Fake("a"), Fake("b"), Fake("c")]
    with HistoryWriter(path) as history:
        schedule = Schedule(fakes, history, 1.0, random.Random(seed))
        for _ in range(ticks):
            schedule.inject()
            schedule.heal()
        schedule.final_heal()
    return [e.f for e in read_history(path) if e.type == "info"]


def test_each_tick_picks_one_nemesis_with_the_seed_and_heals_it(tmp_path: Path) -> None:
    fs = run_ticks(tmp_path / "one.jsonl", 5, 30)
    assert fs == run_ticks(tmp_path / "two.jsonl", 5, 30), "same seed, same choices"
    ticks = fs[:60]
    for start, stop in zip(ticks[::2], ticks[1::2], strict=True):
        assert start.startswith("start-") and stop == "stop-" + start[len("start-"):]
    starts = [f for f in ticks if f.startswith("start-")]
    for round_start in range(0, 30, 3):
        assert sorted(starts[round_start:round_start + 3]) == ["start-a", "start-b", "start-c"], "one of each per round"
    assert starts != run_ticks(tmp_path / "three.jsonl", 6, 30)[:60:2], "another seed, another order"
    assert fs[60:] == ["stop-a", "stop-b", "stop-c"], "the final heal heals every nemesis"


def test_final_heal_heals_all_even_when_one_fails_and_reports_it(tmp_path: Path) -> None:
    fakes = [Fake("a", fail_heal=True), Fake("b")]
    with HistoryWriter(tmp_path / "h.jsonl") as history:
        schedule = Schedule(fakes, history, 1.0, random.Random(1))
        with pytest.raises(HealError, match="a stays broken"):
            schedule.final_heal()
    assert fakes[1].calls == ["heal"]
    events = read_history(tmp_path / "h.jsonl")
    assert [e.error for e in events if e.f == "stop-a" and e.type == "info"] == ["a stays broken"]


def test_parse_nemesis_lists_all_and_none() -> None:
    assert parse_nemesis("all") == list(BASIC) == ["partition", "packet", "kill", "pause", "clock"]
    assert set(BASIC) < set(KINDS), "the fault packages are asked for by name"
    assert parse_nemesis("kill, clock,kill") == ["kill", "clock"]
    assert parse_nemesis("none") == []
    with pytest.raises(UsageError, match="unknown nemesis bogus"):
        parse_nemesis("partition,bogus")


def test_clock_is_refused_for_a_db_without_the_clock_hook_ability() -> None:
    """Before anything starts: the message names the nemesis, the system, the ability and why."""
    from harness.dbs.base import DB
    from harness.dbs.daemon import DaemonDB

    class GoDaemon(DaemonDB):
        name = "etcd"
        lacks = {"ClockHook": "a Go binary reads the clock without libc"}

    class Bare(DB):
        name = "bare"

    for cls in (GoDaemon, Bare):
        cls.__abstractmethods__ = frozenset()  # only the declared abilities matter here
    with pytest.raises(UsageError, match=r"nemesis clock needs the clock hook .*db etcd does not have: a Go binary"):
        check_abilities(["partition", "kill", "clock"], GoDaemon({}))
    with pytest.raises(UsageError, match=r"nemesis kill needs the process control .*db bare does not have$"):
        check_abilities(["partition", "kill"], Bare({}))
    check_abilities(["partition", "packet"], Bare({}))  # network faults need nothing of the system


def test_raft_nodes_get_the_clock_hook_only_when_asked() -> None:
    from harness.dbs.daemon import CLOCK_FILE
    from harness.dbs.raft import RaftDB

    db = RaftDB.from_pairs()
    with pytest.raises(UsageError, match=r"cannot skew raft: its clock hook was not switched on"):
        ClockNemesis(None, db, ["n1"], random.Random(0))  # type: ignore[arg-type]
    assert db.clock_prelude() == "" and db.settings()["clock_hook"] is False
    prepare(["partition", "clock"], db)
    assert ClockNemesis(None, db, ["n1"], random.Random(0)).file == CLOCK_FILE  # type: ignore[arg-type]
    assert "LD_PRELOAD" in db.clock_prelude() and db.settings()["clock_hook"] is True



def test_clock_offsets_span_milliseconds_to_minutes_in_libfaketime_syntax() -> None:
    offsets = [bump_offset(random.Random(i)) for i in range(500)]
    assert min(abs(o) for o in offsets) < 0.01 and max(abs(o) for o in offsets) > 60
    assert all(abs(o) <= 600 for o in offsets) and any(o < 0 for o in offsets)
    assert offset_text(0.25) == "+0.250" and offset_text(-90) == "-90.000" and offset_text(0.0) == "+0.000"


@pytest.mark.parametrize("fault", FAULTS)
def test_packet_parameters_are_seeded_and_translate_to_both_mechanisms(fault: str) -> None:
    params = draw(fault, random.Random(3))
    assert params == draw(fault, random.Random(3))
    if fault != "bandwidth":
        assert netem_args(fault, params)
        assert delayer_args(fault, params)
    with pytest.raises(ValueError):
        draw("bogus", random.Random(0))
