"""A test is data: parts resolved by name, options parsed by the part, misfits refused up front."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from contract.options import OptionError, boolean, choice, number, number_range, parse_pairs
from harness.errors import UsageError
from harness.matrix import (
    EXIT_FAILED,
    EXIT_INVALID,
    EXIT_UNKNOWN,
    EXIT_VALID,
    cells_of,
    combined_exit,
    read_config,
    split_nemeses,
)
from harness.test import RunOptions, make_test

ROOT = Path(__file__).resolve().parents[2]


def test_make_test_resolves_parts_and_their_options() -> None:
    test = make_test(db_opts=["bug=stale-read,early-ack", "read-mode=lease"], workload="bank",
                     workload_opts=["accounts=3"], nemesis="partition,clock", options=RunOptions(seed=5))
    assert test.name == "raft-bank" and test.nemesis == ["partition", "clock"]
    assert test.db.opts["bug"] == ("stale-read", "early-ack") and test.db.opts["read-mode"] == "lease"
    assert test.workload.accounts == ["a0", "a1", "a2"]
    described = test.describe()
    assert described["db_options"]["bug"] == ["stale-read", "early-ack"] and described["workload"] == "bank"
    assert test.command_line()[:8] == ["harness", "run", "--db", "raft", "--workload", "bank", "--nemesis",
                                       "partition,clock"]
    assert test.command_line()[-2:] == ["--seed", "5"]


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"db": "nosuch"}, ["--db nosuch", "raft"]),
    ({"workload": "nosuch"}, ["--workload nosuch", "list-append"]),
    ({"db_opts": ["bug=nosuch"]}, ["--db-opt bug=nosuch", "stale-read"]),
    ({"workload_opts": ["keys=x"]}, ["--workload-opt keys=x", "integer"]),
    ({"nemesis": "nosuch"}, ["unknown nemesis nosuch"]),
    ({"options": RunOptions(nodes=2)}, ["--nodes 2", "at least 3"]),
    ({"options": RunOptions(time_limit=float("nan"))}, ["--time-limit", "finite"]),
    ({"options": RunOptions(concurrency=5000)}, ["--concurrency"]),
    ({"db": "harness.dbs.raft:RaftConnection"}, ["not a harness.dbs.base.DB subclass"]),
    ({"db": "harness.dbs.base:DB"}, ["does not implement"]),
])
def test_misfits_are_refused_naming_the_flag(kwargs: dict, words: list[str]) -> None:
    with pytest.raises(UsageError) as e:
        make_test(**kwargs)
    for w in words:
        assert w in str(e.value)


def test_a_workload_the_client_cannot_serve_is_refused(tmp_path: Path) -> None:
    plugin = tmp_path / "kvonly.py"
    plugin.write_text(
        "from harness.dbs.raft import RaftDB\n"
        "class ReadOnly:\n    node = 'n1'\n    def read(self, key): ...\n    def close(self): ...\n"
        "class KvOnly(RaftDB):\n    name = 'kv-only'\n    connection = ReadOnly\n")
    with pytest.raises(UsageError, match=r"workload register needs the client operation\(s\) write, cas, which db "
                                         r"kv-only's client \(ReadOnly\) does not have"):
        make_test(db=f"{plugin}:KvOnly")
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(UsageError, match="loading it failed: RuntimeError: boom"):
        make_test(db=f"{broken}:X")


def test_options_parse_exactly() -> None:
    from contract.options import Option

    options = [Option("flag", "", default=True, parse=boolean), Option("mode", "", default="a", parse=choice("a", "b")),
               Option("n", "", default=1, parse=number(1, 10, integer=True)), Option("many", "", default=(), many=True),
               Option("range", "", parse=number_range(1, 100))]
    assert parse_pairs(["flag=off", "many=x,y", "many=z", "range=2:3"], options, "--o", "t") == {
        "flag": False, "mode": "a", "n": 1, "many": ("x", "y", "z"), "range": (2.0, 3.0)}
    for bad in (["n=11"], ["n=1.5"], ["mode=c"], ["flag=maybe"], ["range=3:2"], ["range=nan:1"], ["n=1", "n=2"],
                ["nokey"], ["=1"], ["other=1"]):
        with pytest.raises(OptionError):
            parse_pairs(bad, options, "--o", "t")


def test_matrix_axes_and_precedence(tmp_path: Path) -> None:
    assert split_nemeses("partition,kill") == ["partition", "kill"]
    assert split_nemeses("partition+kill,clock") == ["partition,kill", "clock"]
    assert split_nemeses("kill:n1+n3+partition") == ["kill:n1+n3,partition"]
    cells = cells_of([{"db": "raft", "workload": ["register", "set"], "nemesis": ["partition", "kill"]}], [1, 2], "x")
    assert len(cells) == 8 and len({c.name for c in cells}) == 8
    assert combined_exit([EXIT_VALID, EXIT_INVALID, EXIT_UNKNOWN]) == EXIT_UNKNOWN
    assert combined_exit([EXIT_INVALID, EXIT_FAILED, EXIT_UNKNOWN]) == EXIT_FAILED
    assert combined_exit([EXIT_VALID, EXIT_INVALID]) == EXIT_INVALID
    bad = tmp_path / "m.toml"
    for text, words in (("nodes = 3\n", "[[matrix]]"), ("[[matrix]]\ncolour = 'x'\n", "colour"),
                        ("speed = 1\n[[matrix]]\n", "speed"), ("[[matrix\n", "not valid TOML")):
        bad.write_text(text)
        with pytest.raises(UsageError, match=words.replace("[", r"\[")):
            blocks, _ = read_config(bad)
            cells_of(blocks, [1], str(bad))


def test_harness_list_shows_every_part_and_options_as_json() -> None:
    r = subprocess.run([sys.executable, "-m", "harness.cli", "list", "--json"], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert {"raft", "etcd"} <= {d["name"] for d in data["dbs"]}
    workloads = {w["name"] for w in data["workloads"]}
    assert {"register", "list-append", "rw-register", "set", "counter", "bank"} <= workloads
    raft = next(d for d in data["dbs"] if d["name"] == "raft")
    assert raft["abilities"] == ["Process", "Primaries", "ClockHook"] and "txn" in raft["client_operations"]
    assert {k["name"] for k in data["nemeses"]} >= {"partition", "packet", "kill", "pause", "clock"}
    one = subprocess.run([sys.executable, "-m", "harness.cli", "list", "--db", "raft"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert one.returncode == 0 and "read-mode=MODE" in one.stdout and "bug=NAME, repeatable" in one.stdout


def test_all_means_every_basic_fault_the_system_can_take() -> None:
    assert make_test(nemesis="all").nemesis == ["partition", "packet", "kill", "pause", "clock"]
    assert make_test(db="etcd", nemesis="all").nemesis == ["partition", "packet", "kill", "pause"]
    with pytest.raises(UsageError, match=r"nemesis clock needs the clock hook.*etcd.*vDSO"):
        make_test(db="etcd", nemesis="partition,clock")
