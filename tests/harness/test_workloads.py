"""Every workload end to end without Docker: generator → client → history → checker, against our
node's real state machine (nodes/raft/kv.py) behind a lock, correct and with a transaction split
in two. The correct store must always check valid; the split one must be caught by the workloads
whose checkers can see a torn transaction."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from checkers.history import HistoryWriter, read_history
from contract.client import Definite, Op
from harness import plugins
from harness.interpreter import Interpreter
from harness.test import WORKLOAD_KIND
from nodes.raft.kv import KV
from workloads import BUILTIN
from workloads.generator import Generator


class Store:
    """One shared KV; `split` applies each micro-op as its own step, with other clients in between."""

    def __init__(self, split: bool) -> None:
        self.kv = KV()
        self.lock = threading.Lock()
        self.split = split

    def connect(self, node: str) -> Any:
        return Connection(self, node)


class Connection:
    def __init__(self, store: Store, node: str) -> None:
        self.store = store
        self.node = node

    def txn(self, micro_ops: list[list[Any]]) -> list[list[Any]]:
        steps = [[m] for m in micro_ops] if self.store.split else [micro_ops]
        done = []
        for step in steps:
            with self.store.lock:
                reply = self.store.kv.apply({"op": "txn", "value": step})
            if reply["status"] != "ok":
                raise Definite(reply["error"])
            done += reply["value"]
            time.sleep(0.0005 * random.random())  # let the other clients in
        return done

    def close(self) -> None:
        pass


def run_workload(name: str, tmp_path: Path, split: bool, seconds: float = 1.5) -> dict[str, Any]:
    workload = plugins.load(WORKLOAD_KIND, name).from_pairs()
    store = Store(split)
    path = tmp_path / f"{name}-{split}.jsonl"
    with HistoryWriter(path) as history:
        interp = Interpreter(history, Generator(workload.next_op, 3, 8, 2000), workload.invoke, store.connect,
                             ["n1", "n2"])
        assert all(c.type == "ok" for c in interp.run_ops(workload.initial_ops(), "n1"))
        interp.start(seconds)
        assert interp.join(30)
        interp.run_ops(workload.final_ops(), "n1")
    events = read_history(path)
    assert sum(e.type == "ok" for e in events) > 100
    return workload.checker().check(events, {})


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_every_workload_is_valid_on_an_atomic_store(name: str, tmp_path: Path) -> None:
    if name == "register":
        pytest.skip("the register workload needs read/write/cas, not txn (tests/harness/test_interpreter.py)")
    r = run_workload(name, tmp_path, split=False)
    assert r["valid"] is True, r


@pytest.mark.parametrize("name", ["bank", "list-append"])
def test_a_split_transaction_is_caught(name: str, tmp_path: Path) -> None:
    r = run_workload(name, tmp_path, split=True)
    assert r["valid"] is False, r


def test_a_counter_read_before_any_add_is_zero() -> None:
    # The store has no counter key yet and reads it as null; the checker bounds reads by sums of adds.
    workload = plugins.load(WORKLOAD_KIND, "counter").from_pairs()
    done = workload.invoke(Connection(Store(split=False), "n1"), Op("read", "counter", None))
    assert (done.type, done.value) == ("ok", 0)
