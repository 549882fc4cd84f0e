"""--nemesis specs: targets, shapes and packages a user can name, refused clearly when wrong."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from checkers.history import HistoryWriter, read_history
from harness.dbs.base import DB
from harness.dbs.daemon import DaemonDB
from harness.errors import UsageError
from harness.nemesis.registry import KINDS, check_abilities, check_nodes, parse_nemesis, rhythm
from harness.nemesis.schedule import Schedule, as_ran
from harness.nemesis.targets import resolve
from harness.nemesis.watch import ProcessWatch
from harness.node_logs import scan

NODES = ["n1", "n2", "n3", "n4", "n5"]


def test_targets_shapes_node_lists_and_packages_parse() -> None:
    specs = "partition:leader,partition:majorities-ring,partition:n1+n2,kill:majority,pause:followers,clock:leader,"
    specs += "kill:n1+n3,packet:minority,lag-then-kill,isolate-then-skew,partition:primary"
    assert parse_nemesis(specs) == specs.split(",")


@pytest.mark.parametrize(("spec", "message"), [
    ("lag-then-kill:n1", "--nemesis lag-then-kill:n1: lag-then-kill takes no argument"),
    ("packet:random", "packet takes one, minority, majority, all"),
    ("bogus:leader", "unknown nemesis bogus"),
])
def test_bad_specs_are_refused_naming_the_option(spec: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_nemesis(spec)


@pytest.mark.parametrize(("spec", "message"), [
    ("kill:sideways", "--nemesis kill:sideways: 'sideways' is neither one of one, minority"),
    ("partition:upside", "'upside' is neither one of halves, one, leader, majorities-ring, bridge nor nodes"),
    ("kill:n1+n9", r"'n1\+n9' is neither .* nor nodes of this cluster \(n1, n2, n3, n4, n5;"),
])
def test_words_that_are_no_target_nor_node_are_refused_before_the_run(spec: str, message: str) -> None:
    parse_nemesis(spec)  # a node may be called anything, so only the cluster's names can tell
    with pytest.raises(UsageError, match=message):
        check_nodes([spec], NODES)
    check_nodes(["kill:n1+n3", "partition:n2", "kill:leader", "partition:bridge"], NODES)


class _Bare(DaemonDB):
    name = "bare"


class _NoProcess(DB):
    name = "np"


_Bare.__abstractmethods__ = frozenset()
_NoProcess.__abstractmethods__ = frozenset()


def test_leader_relative_targets_and_packages_need_primaries() -> None:
    db = _Bare({})
    check_abilities(["partition:halves", "kill:majority", "kill:n1+n2", "pause:random"], db)
    for spec in ("partition:leader", "kill:leader", "pause:followers", "kill:primaries", "lag-then-kill",
                 "crash-after-replicate", "kill-during-election"):
        with pytest.raises(UsageError, match=rf"nemesis {spec} needs the primaries .*db bare does not have"):
            check_abilities([spec], db)
    with pytest.raises(UsageError, match="needs the process control"):
        check_abilities(["kill:one"], _NoProcess({}))


def test_every_package_has_a_description_requirements_and_a_rhythm() -> None:
    packages = [k for k in KINDS.values() if k.package]
    assert {k.name for k in packages} == {"isolate-then-skew", "lag-then-kill", "crash-after-replicate",
                                          "kill-during-election", "partition-kill-storm"}
    for k in packages:
        assert k.description and "\n" not in k.description and k.requires and k.interval and k.op_timeout
    assert rhythm(["partition", "lag-then-kill", "isolate-then-skew"]) == {"interval": 3.0, "op_timeout": 2.0}
    assert rhythm(["partition:leader"]) == {}


def test_leader_relative_targets_resolve_now_and_record_the_leader() -> None:
    leader = ["n4"]
    assert resolve("leader", NODES, random.Random(0), lambda: leader) == \
        {"target": "leader", "nodes": ["n4"], "leader": "n4"}
    leader[0] = "n2"
    assert resolve("followers", NODES, random.Random(0), lambda: leader) == \
        {"target": "followers", "nodes": ["n1", "n3", "n4", "n5"], "leader": "n2"}
    assert resolve("n3+n1", NODES, random.Random(0), list) == {"target": "n3+n1", "nodes": ["n1", "n3"]}
    with pytest.raises(ValueError, match="unknown nodes n7"):
        resolve("n7", NODES, random.Random(0), list)


def test_make_test_settles_the_rhythm_from_the_package_unless_given() -> None:
    from harness.test import RunOptions, make_test

    t = make_test(nemesis="lag-then-kill", options=RunOptions(nodes=5))
    assert (t.options.nemesis_interval, t.options.op_timeout) == (3.0, 2.0)
    t = make_test(nemesis="lag-then-kill", options=RunOptions(nodes=5, nemesis_interval=7, op_timeout=4))
    assert (t.options.nemesis_interval, t.options.op_timeout) == (7, 4)
    t = make_test(nemesis="partition:leader", options=RunOptions(nodes=5))
    assert (t.options.nemesis_interval, t.options.op_timeout) == (10.0, 5.0)
    with pytest.raises(UsageError, match="'n4' is neither"):
        make_test(nemesis="kill:n4", options=RunOptions(nodes=3))


class _Nemesis:
    name = "kill:leader"

    def inject(self) -> dict[str, Any]:
        return {"kind": "kill", "target": "leader", "nodes": ["n2"], "leader": "n2"}

    def heal(self) -> dict[str, Any]:
        return {"kind": "heal-kill"}


def test_each_injection_records_the_leaders_then_and_results_get_the_schedule_as_it_ran(tmp_path: Path) -> None:
    with HistoryWriter(tmp_path / "h.jsonl") as history:
        schedule = Schedule([_Nemesis()], history, 1.0, random.Random(0), leaders=lambda: ["n2"])
        schedule.inject()
        schedule.heal()
    [fault] = as_ran(read_history(tmp_path / "h.jsonl"))
    assert fault["nemesis"] == "kill:leader" and fault["nodes"] == ["n2"] and fault["leader"] == "n2"
    assert fault["leaders_at_start"] == ["n2"]
    assert 0 <= fault["start_s"] <= fault["applied_s"] <= fault["stop_s"]


class _Processes:
    """A DB whose processes live in a dict: alive, or dead."""

    def __init__(self) -> None:
        self.alive = dict.fromkeys(NODES, True)
        self.starts: list[str] = []

    def kill(self, node: str) -> None:
        self.alive[node] = False

    def start(self, node: str) -> None:
        self.starts.append(node)
        self.alive[node] = True

    def process_state(self, node: str) -> str | None:
        return "S" if self.alive[node] else None

    def pid(self, node: str) -> int | None:
        return 100 + NODES.index(node) if self.alive[node] else None


def test_a_process_that_died_on_its_own_is_told_from_one_the_nemesis_killed() -> None:
    db = _Processes()
    watch = ProcessWatch(db)
    watch.dead = lambda node, checks=3, gap_s=0.3: ProcessWatch.dead(watch, node, checks, 0)  # no waiting here
    watch.kill("n1")
    db.alive["n2"] = False  # crashed by itself
    watch.start("n1")
    watch.start("n2")  # the heal restarts it, but notices
    db.alive["n3"] = False
    watch.start("n4")  # running: not started twice
    assert db.starts == ["n1", "n2"]
    deaths = watch.survey(NODES)
    assert [(d["node"], d["how"]) for d in deaths] == [("n2", "found dead when restarting"),
                                                      ("n3", "found dead at the end of the run")]


def test_node_log_scan_finds_tracebacks_and_panics(tmp_path: Path) -> None:
    for node, text in (("n1", "ok\nTraceback (most recent call last):\n  File x\nValueError: y\n"),
                       ("n2", "all fine\n"), ("n3", "panic: runtime error: index out of range\n")):
        d = tmp_path / "nodes" / node
        d.mkdir(parents=True)
        (d / "node.log").write_text(text)
    found = scan({n: tmp_path / "nodes" / n for n in ("n1", "n2", "n3")})
    assert [(f["node"], f["line"]) for f in found] == [("n1", 2), ("n3", 1)]
    assert found[0]["file"] == "nodes/n1/node.log"


def test_every_seeded_bug_has_the_arguments_that_expose_it_and_they_make_a_test() -> None:
    from harness.dbs.raft import SEEDED_BUGS, without_bug
    from harness.test import RunOptions, make_test
    from nodes.raft.core import BUGS

    assert {b["name"] for b in SEEDED_BUGS} == set(BUGS), "a seeded bug without a row in harness/dbs/raft.py"
    for bug in SEEDED_BUGS:
        args = bug["args"]
        assert not {"--nodes", "--time-limit", "--seed"} & set(args)
        opts = [args[i + 1] for i, a in enumerate(args) if a == "--db-opt"]
        assert f"bug={bug['name']}" in opts and f"bug={bug['name']}" not in without_bug(args)
        make_test(db=args[args.index("--db") + 1], db_opts=opts, workload=args[args.index("--workload") + 1],
                  nemesis=args[args.index("--nemesis") + 1], options=RunOptions(nodes=5))
