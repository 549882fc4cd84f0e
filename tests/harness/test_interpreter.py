"""The interpreter against an in-memory register: process ids, streaming, and a valid history.

The store here is a stand-in for a database, not for Docker: it lets the bookkeeping (Jepsen's
process retirement after `info`, invoke/complete pairing, flushing) be tested exactly.
"""

from __future__ import annotations

import random
import threading
from pathlib import Path
from typing import Any

from checkers.api import check_history
from checkers.history import HistoryWriter, read_history
from contract.client import Definite, Indeterminate
from harness.interpreter import Interpreter
from workloads.generator import Generator
from workloads.register import Register


class MemoryRegister:
    """A linearizable store (one lock) that sometimes times out after applying, or before."""

    data: dict[str, Any] = {}
    lock = threading.Lock()

    def __init__(self, node: str, seed: int) -> None:
        self.node = node
        self.rng = random.Random(seed)

    def _maybe_timeout(self, applied: bool) -> None:
        if self.rng.random() < 0.05:
            raise Indeterminate("timeout" if applied else "timeout before")

    def read(self, key: str) -> Any:
        with self.lock:
            return self.data.get(key)

    def write(self, key: str, value: Any) -> None:
        with self.lock:
            self._maybe_timeout(False)
            self.data[key] = value
        self._maybe_timeout(True)

    def cas(self, key: str, expected: Any, new: Any) -> None:
        with self.lock:
            if self.data.get(key) != expected:
                raise Definite("cas-mismatch", self.data.get(key))
            self.data[key] = new
        self._maybe_timeout(True)

    def close(self) -> None:
        pass


def test_interpreter_records_a_checkable_history(tmp_path: Path) -> None:
    MemoryRegister.data = {}
    path = tmp_path / "history.jsonl"
    conns = iter(range(1000))
    workload = Register.from_pairs()
    with HistoryWriter(path) as history:
        interp = Interpreter(
            history,
            Generator(workload.next_op, seed=5, concurrency=4, rate=2000),
            workload.invoke,
            lambda node: MemoryRegister(node, next(conns)),
            ["n1", "n2"],
        )
        interp.start(1.0)
        assert interp.join(30)
        interp.run_ops(workload.final_ops(), "n1")
    events = read_history(path)
    assert len(events) == 2 * interp.stats.total
    assert interp.stats.ok > 100 and interp.stats.info > 0 and interp.stats.fail > 0

    open_by_process: dict[int, str] = {}
    retired: set[int] = set()
    for e in events:
        assert e.process not in retired, "a process id was reused after info"
        if e.type == "invoke":
            assert e.process not in open_by_process
            open_by_process[e.process] = e.f
        else:
            assert open_by_process.pop(e.process) == e.f
            if e.type == "info":
                retired.add(e.process)
    assert check_history(events)["valid"] is True


def test_history_is_on_disk_before_close(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    w = HistoryWriter(path, flush_every=0)
    w.append(0, "invoke", "read", "a")
    assert len(read_history(path)) == 1  # flushed, readable while the writer is still open
    w.close()
