"""The client gate: a fault package holds the workers to reads, or to nothing, and they obey."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from checkers.history import HistoryWriter, read_history
from contract.client import Op
from harness.client_gate import ALL, NONE, READS, ClientGate
from harness.interpreter import Interpreter
from workloads.generator import Generator
from workloads.register import Register
from workloads.set import Set


class Store:
    """A register map that answers at once (no faults): only what the workers send matters here."""

    def __init__(self, node: str) -> None:
        self.node = node
        self.data: dict[str, Any] = {}

    def read(self, key: str) -> Any:
        return self.data.get(key)

    def write(self, key: str, value: Any) -> None:
        self.data[key] = value

    def cas(self, key: str, expected: Any, new: Any) -> None:
        self.data[key] = new

    def close(self) -> None:
        pass


def test_each_mode_admits_its_kinds_and_settle_waits_for_the_refused_ones() -> None:
    gate = ClientGate()
    assert gate.admit(ALL) and gate.admit(READS)
    gate.allow(READS)
    assert not gate.admit(ALL) and gate.admit(READS)
    assert not gate.settle(0), "an operation admitted under ALL is still in flight"
    gate.done(ALL)
    assert gate.settle(0), "reads in flight are what READS allows"
    gate.allow(NONE)
    assert not gate.admit(READS) and not gate.settle(0)
    gate.done(READS)
    gate.done(READS)
    assert gate.settle(0)
    with pytest.raises(ValueError, match="unknown client mode"):
        gate.allow("writes")


def run_with(mode: str, tmp_path: Path, workload: Any = None) -> list[str]:
    workload = workload or Register.from_pairs()
    gate = ClientGate()
    gate.allow(mode)
    path = tmp_path / f"{mode}.jsonl"
    with HistoryWriter(path) as history:
        interp = Interpreter(history, Generator(workload.next_op, 1, 4, 2000, reads=workload.read_op),
                             workload.invoke, Store, ["n1"], gate)
        interp.start(0.5)
        assert interp.join(30)
    return [e.f for e in read_history(path) if e.type == "invoke"]


def test_workers_send_only_reads_under_reads_and_nothing_under_none(tmp_path: Path) -> None:
    everything = run_with(ALL, tmp_path)
    assert {"read", "write", "cas"} <= set(everything)
    reads = run_with(READS, tmp_path)
    assert reads and set(reads) == {"read"}
    assert run_with(NONE, tmp_path) == []


def test_a_workload_without_a_read_operation_sends_nothing_under_reads(tmp_path: Path) -> None:
    class WriteOnly(Register):
        def read_op(self, rng: Any) -> Op | None:
            return None

    assert run_with(READS, tmp_path, WriteOnly.from_pairs()) == []


def test_set_reads_with_the_plain_read_when_asked() -> None:
    class Plain:
        def read(self, key: str) -> Any:
            return [1, 2] if key == "set" else None

    txn = Set.from_pairs()
    plain = Set.from_pairs(["read-with=read"])
    assert txn.needs() == ("txn",) and plain.needs() == ("txn", "read")
    done = plain.invoke(Plain(), Op("read", "set", None))
    assert done.type == "ok" and done.value == [1, 2]
