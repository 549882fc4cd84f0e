"""The end of a run: its final operations, whether or not the cluster recovers, and a teardown
that gives the nodes back whatever goes wrong.

A cluster left in a broken state (two leaders of one term, as the forget-vote bug leaves it) never
agrees on a leader again; its run must still ask the nodes what they hold, or a lost acknowledged
write goes unseen and the verdict is unknown where the history could have shown it invalid. The
stores here stand in for nodes that disagree; the interpreter, history and checker are the real ones.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from checkers.history import HistoryWriter, read_history
from contract.client import Indeterminate, Op
from harness.errors import HarnessError
from harness.interpreter import Interpreter
from harness.run import _final_ops, _teardown
from harness.store import RunDir
from workloads.generator import Generator
from workloads.set import Set


class NodeSet:
    """One node's copy of the set; an unreachable node times out on every call."""

    def __init__(self, node: str, held: dict[str, list[int]]) -> None:
        self.node, self.held = node, held

    def txn(self, micro_ops: list[list[Any]]) -> list[list[Any]]:
        if self.node not in self.held:
            raise Indeterminate("timeout")
        elements = self.held[self.node]
        done = []
        for f, key, value in micro_ops:
            if f == "append":
                elements.append(value)
            done.append([f, key, list(elements) if f == "r" else value])
        return done

    def close(self) -> None:
        pass


class Cluster:
    """Just what `_final_ops` asks of a DB: its nodes and whether it recovers."""

    def __init__(self, leader: str | None) -> None:
        self.nodes = SimpleNamespace(names=["n1", "n2", "n3"])
        self.leader = leader

    def wait_ready(self, timeout: float) -> str:
        if self.leader is None:
            raise HarnessError(f"raft: no leader agreed on within {timeout:g} s (n1: leader n1, n2: leader n2)")
        return self.leader


def _run(tmp_path: Path, leader: str | None) -> tuple[list[str], list[Any], dict[str, Any]]:
    """Two adds acknowledged by n1, then the final operations; n2 never saw the second add and n3
    does not answer. Returns the problems, the final reads' completions and the set verdict."""
    held = {"n1": [], "n2": []}
    workload = Set.from_pairs()
    test = SimpleNamespace(workload=workload, options=SimpleNamespace(recovery_time=1.0))
    path = tmp_path / "history.jsonl"
    with HistoryWriter(path) as history:
        interp = Interpreter(history, Generator(workload.next_op, seed=1, concurrency=1, rate=1),
                             workload.invoke, lambda node: NodeSet(node, held), ["n1", "n2", "n3"])
        interp.run_ops([Op("add", "set", 1)], "n1")
        held["n2"] = list(held["n1"])
        interp.run_ops([Op("add", "set", 2)], "n1")
        problems = _final_ops(test, Cluster(leader), interp)
    events = read_history(path)
    reads = [e for e in events if e.f == "read" and e.type != "invoke"]
    return problems, reads, workload.checker().check(events, {"jobs": 1})


def test_an_unrecovered_cluster_is_still_read_on_every_node(tmp_path: Path) -> None:
    problems, reads, verdict = _run(tmp_path, leader=None)
    assert len(problems) == 1
    assert problems[0].startswith("recovery: raft: no leader agreed on")
    assert "the final operations went to every node instead (2 of 3 answered them all)" in problems[0]
    assert sorted((r.node, r.type) for r in reads) == [("n1", "ok"), ("n2", "ok"), ("n3", "info")]
    assert verdict["valid"] is False, "n2's final read lacks the acknowledged add of 2"
    assert [lost["element"] for lost in verdict["set"]["lost"]] == [2]


def test_a_recovered_cluster_is_read_through_the_node_it_names(tmp_path: Path) -> None:
    problems, reads, verdict = _run(tmp_path, leader="n1")
    assert problems == []
    assert [(r.node, r.type, r.value) for r in reads] == [("n1", "ok", [1, 2])]
    assert verdict["valid"] is True


def test_a_client_that_raises_anything_does_not_stop_the_teardown(tmp_path: Path) -> None:
    """A plug-in's client may raise what it likes (here on connecting); every node is still asked,
    and the run goes on to keep its logs and remove its nodes."""
    def refuse(node: str) -> NodeSet:
        raise ConnectionRefusedError(f"{node} refused")

    workload = Set.from_pairs()
    test = SimpleNamespace(workload=workload, options=SimpleNamespace(recovery_time=1.0))
    asked: list[str] = []
    with HistoryWriter(tmp_path / "history.jsonl") as history:
        interp = Interpreter(history, Generator(workload.next_op, seed=1, concurrency=1, rate=1),
                             workload.invoke, lambda node: asked.append(node) or refuse(node), ["n1", "n2", "n3"])
        unrecovered = _final_ops(test, Cluster(leader=None), interp)
        recovered = _final_ops(test, Cluster(leader="n2"), interp)
    assert sorted(asked) == ["n1", "n2", "n2", "n3"], "every node when unrecovered, then the one named"
    assert unrecovered[0].endswith("(0 of 3 answered them all)")
    assert recovered == ["recovery: n2 refused"]


def test_the_nodes_are_removed_even_when_a_plugin_raises_something_unexpected(tmp_path: Path) -> None:
    class Broken(Cluster):
        def log_files(self, node: str) -> list[str]:
            raise RuntimeError("a plug-in's bug")

    removed: list[bool] = []
    platform = SimpleNamespace(remove=lambda: removed.append(True) or [])
    test = SimpleNamespace(options=SimpleNamespace(op_timeout=1.0), platform=platform)
    history = HistoryWriter(tmp_path / "history.jsonl")
    run_dir = RunDir.create(tmp_path, "t")
    with pytest.raises(RuntimeError, match="a plug-in's bug"):
        _teardown(test, Broken(leader="n1"), None, None, None, history, run_dir, recover=False)
    assert removed == [True], "the platform removed what it created"
