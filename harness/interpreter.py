"""Runs the workload: worker threads take operations from the generator, perform them through a
client, and record an invocation and a completion for each in the history.

Process ids follow Jepsen: worker w starts as process w; after an indeterminate (`info`)
completion the worker continues as process w + concurrency, w + 2·concurrency, ..., because the
old process may still have an operation in flight and a process runs one operation at a time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from checkers.history import HistoryWriter
from contract.client import Completion, Connection, Invoke, Op
from harness.client_gate import ALL, NONE, READS, ClientGate
from workloads.generator import Generator

log = logging.getLogger(__name__)


@dataclass
class Stats:
    ok: int = 0
    fail: int = 0
    info: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, kind: str) -> None:
        with self.lock:
            setattr(self, kind, getattr(self, kind) + 1)

    @property
    def total(self) -> int:
        return self.ok + self.fail + self.info


class Interpreter:
    def __init__(
        self,
        history: HistoryWriter,
        generator: Generator,
        invoke: Invoke,
        connect: Callable[[str], Connection],
        nodes: list[str],
        gate: ClientGate | None = None,
    ) -> None:
        """`gate`, if given, is how a fault package holds the workers back (all ops, reads, none)."""
        self.history = history
        self.gate = gate or ClientGate()
        self.generator = generator
        self.invoke = invoke
        self.connect = connect
        self.nodes = nodes
        self.stats = Stats()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._next_process = generator.concurrency

    def _new_process(self) -> int:
        with self.stats.lock:
            p = self._next_process
            self._next_process += 1
            return p

    def perform(self, process: int, conn: Connection, op: Op) -> Completion:
        """Record the invocation, perform the op, record its completion."""
        self.history.append(process, "invoke", op.f, op.key, op.value)
        completion = self.invoke(conn, op)
        served_by = getattr(conn, "served_by", None) or conn.node
        self.history.append(process, completion.type, op.f, op.key, completion.value, served_by, completion.error)
        self.stats.count(completion.type)
        return completion

    def _worker(self, worker: int, deadline: float) -> None:
        process = worker
        conn = self.connect(self.nodes[worker % len(self.nodes)])
        try:
            while not self._stop.is_set():
                mode = self.gate.mode
                gap, op = self.generator.next(worker, reads_only=mode == READS)
                if time.monotonic() + gap >= deadline or self._stop.wait(gap):
                    return
                kind = READS if mode == READS else ALL
                if mode == NONE or op is None or not self.gate.admit(kind):
                    continue
                try:
                    completion = self.perform(process, conn, op)
                finally:
                    self.gate.done(kind)
                if completion.type == "info":
                    process = self._new_process()
        except Exception:
            log.exception("worker %d crashed", worker)
            raise
        finally:
            conn.close()

    def start(self, duration: float) -> None:
        deadline = time.monotonic() + duration
        for w in range(self.generator.concurrency):
            t = threading.Thread(target=self._worker, args=(w, deadline), name=f"worker-{w}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> bool:
        """Wait for the workers; True if all finished (a worker stuck in a call has its own timeout)."""
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)

    def run_ops(self, ops: list[Op], node: str) -> list[Completion]:
        """Operations outside the workload's stream, one after another on `node` (a workload's initial
        and final operations), each under a process id of its own."""
        conn = self.connect(node)
        try:
            return [self.perform(self._new_process(), conn, op) for op in ops]
        finally:
            conn.close()
