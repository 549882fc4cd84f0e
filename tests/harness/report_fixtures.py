"""Histories for the report tests: a synthetic long run, and a short non-linearizable one made by
the real interpreter against an in-memory store that sometimes serves stale reads."""

from __future__ import annotations

import json
import random
import threading
from pathlib import Path
from typing import Any

from checkers.api import check_history
from checkers.history import NEMESIS, HistoryWriter, read_history
from contract.client import Definite
from harness.interpreter import Interpreter
from harness.store import RunDir
from workloads.generator import Generator
from workloads.register import Register

KINDS = ("partition", "clock", "kill")


def synthetic_run(root: Path, n_ops: int, seconds: float = 300.0, concurrency: int = 10) -> Path:
    """A results folder with `n_ops` client ops over `seconds`, faults of several kinds, and a
    little hostile text in values; written directly (no checker run), so it is quick to build."""
    run = RunDir.create(root, "synthetic")
    rng = random.Random(7)
    span_ns = int(seconds * 1e9)
    events: list[dict[str, Any]] = []
    process = list(range(concurrency))
    next_process = concurrency
    per_worker = n_ops // concurrency
    gap = span_ns // per_worker
    for w in range(concurrency):
        t = rng.randrange(gap)
        for _ in range(per_worker):
            f = rng.choice(("read", "write", "cas"))
            key = rng.choice(("r0", "r1", "r2"))
            value = None if f == "read" else [1, 2] if f == "cas" else rng.choice((1, 2, "<script>x</script>"))
            latency = int(rng.lognormvariate(15, 1))
            kind = rng.choices(("ok", "fail", "info"), (90, 8, 2))[0]
            events.append({"time": t, "process": process[w], "type": "invoke", "f": f, "key": key, "value": value})
            events.append({"time": t + latency, "process": process[w], "type": kind, "f": f, "key": key,
                           "value": value, "node": f"n{w % 3 + 1}"})
            if kind == "info":
                process[w], next_process = next_process, next_process + 1
            t += max(gap, latency + 1)
    for n, start in enumerate(range(int(5e9), span_ns - int(10e9), int(20e9))):
        kind = KINDS[n % len(KINDS)]
        value: dict[str, Any] = {"kind": kind, "nodes": ["n1"]}
        if kind == "partition":
            value = {"kind": kind, "components": [["n1"], ["n2", "n3"]]}
        elif kind == "clock":
            value["offsets"] = {"n1": rng.uniform(-5, 5), "n2": rng.uniform(-5, 5)}
        events.append({"time": start, "process": NEMESIS, "type": "invoke", "f": f"start-{kind}", "value": None})
        events.append({"time": start + int(5e8), "process": NEMESIS, "type": "info", "f": f"start-{kind}",
                       "value": value})
        events.append({"time": start + int(10e9), "process": NEMESIS, "type": "invoke", "f": f"stop-{kind}",
                       "value": None})
        events.append({"time": start + int(10.5e9), "process": NEMESIS, "type": "info", "f": f"stop-{kind}",
                       "value": {"kind": f"heal-{kind}", "verified": True}})
    events.sort(key=lambda e: e["time"])
    with open(run.history, "w", encoding="utf-8") as out:
        for i, e in enumerate(events):
            out.write(json.dumps({"index": i, **e}, separators=(",", ":")) + "\n")
    run.write_results({"valid": True, "test_name": "synthetic", "seed": 7,
                       "config": {"concurrency": concurrency, "nemesis": list(KINDS)},
                       "checkers": {"linearizable": {"valid": True, "model": "cas-register"}}})
    return run.path


class StaleRegister:
    """A register whose reads return the value before the last write 10% of the time: not linearizable."""

    data: dict[str, Any] = {}
    old: dict[str, Any] = {}
    lock = threading.Lock()

    def __init__(self, node: str, seed: int) -> None:
        self.node = node
        self.rng = random.Random(seed)

    def read(self, key: str) -> Any:
        with self.lock:
            return self.old.get(key) if self.rng.random() < 0.1 else self.data.get(key)

    def write(self, key: str, value: Any) -> None:
        with self.lock:
            self.old[key], self.data[key] = self.data.get(key), value

    def cas(self, key: str, expected: Any, new: Any) -> None:
        with self.lock:
            if self.data.get(key) != expected:
                raise Definite("cas-mismatch")
            self.old[key], self.data[key] = self.data.get(key), new

    def close(self) -> None:
        pass


def stale_run(root: Path, seconds: float = 1.5) -> Path:
    """A short run of the real interpreter against StaleRegister, checked by the real checker,
    with a partition and a clock bump recorded as nemesis events."""
    StaleRegister.data, StaleRegister.old = {}, {}
    run = RunDir.create(root, "stale")
    conns = iter(range(10**6))
    with HistoryWriter(run.history) as history:
        workload = Register.from_pairs()
        interp = Interpreter(history, Generator(workload.next_op, 3, 5, 400), workload.invoke,
                             lambda node: StaleRegister(node, next(conns)), ["n1", "n2", "n3"])
        interp.start(seconds)
        stop = threading.Event()
        history.append(NEMESIS, "invoke", "start-partition")
        history.append(NEMESIS, "info", "start-partition", value={"components": [["n1"], ["n2", "n3"]]})
        stop.wait(seconds / 3)
        history.append(NEMESIS, "invoke", "stop-partition")
        history.append(NEMESIS, "info", "stop-partition", value={"kind": "heal-partition", "verified": True})
        history.append(NEMESIS, "invoke", "start-clock")
        history.append(NEMESIS, "info", "start-clock", value={"kind": "clock", "mode": "bump", "nodes": ["n2"],
                                                              "offsets": {"n2": 2.5}})
        stop.wait(seconds / 3)
        history.append(NEMESIS, "invoke", "stop-clock")
        history.append(NEMESIS, "info", "stop-clock", value={"kind": "heal-clock", "verified": True})
        assert interp.join(30)
    verdict = check_history(read_history(run.history))
    run.write_results({"valid": verdict["valid"], "test_name": "stale", "seed": 3,
                       "config": {"concurrency": 5, "nemesis": ["partition", "clock"]},
                       "checkers": {"linearizable": verdict}})
    return run.path
