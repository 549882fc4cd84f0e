"""The entry points the CLI and the harness call: check a list of events, or a file.

A check stops at a default budget: DEFAULT_TIME_LIMIT seconds for the whole check and the
search's memory limit (`checkers.search.DEFAULT_MEMORY_LIMIT`, for the memo of each key), and
then answers "unknown" with the reason and how far it got, never running forever by default.
Callers override either; a time limit of None means none.

"seconds" in a result is the checking time alone (wall clock), parsing excluded, so benchmark
figures compare the search and not the file readers; "cpu_seconds" is the same span in CPU
time, the steadier figure on a busy machine, worker processes included (see `checkers.workers`).

`jobs` is how many processes may search independent keys at once; None means one per core
(`workers.default_jobs`). The answer is the same for any number.
"""

from __future__ import annotations

import gc
import json
import resource
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from checkers.explain import add_faults
from checkers.formats import DEFAULT_MODEL, DEFAULT_SEMANTICS, load_history
from checkers.history import Event
from checkers.linearizable import check_linearizable
from checkers.models import get_model
from checkers.operations import operations
from checkers.progress import ProgressLine
from checkers.reading import DEFAULT_READ_MEMORY, HistoryError, ReadBudget
from checkers.search import DEFAULT_MEMORY_LIMIT
from checkers.workers import default_jobs

DEFAULT_TIME_LIMIT = 300.0


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a check.

    Reading and checking build hundreds of thousands of objects that form no cycles (events,
    ops, transition closures, memo entries), and each burst of allocations sets off collections
    that traverse all of them again: half the checking time of a 100,000-op history. Reference
    counting still frees everything as usual; only cycles, which a check hardly makes, wait
    until the collector is back on.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def check_history(
    events: Iterable[Event],
    model: str = "cas-register",
    init: Any = None,
    time_limit: float | None = DEFAULT_TIME_LIMIT,
    semantics: str = "harness",
    memory_limit: int = DEFAULT_MEMORY_LIMIT,
    all_keys: bool = False,
    shrink: bool = True,
    progress: ProgressLine | None = None,
    jobs: int | None = None,
) -> dict[str, Any]:
    """Is this history linearizable with respect to `model` started from `init`?

    Returns at least {"valid": True | False | "unknown", "seconds": float}; see
    `linearizable.check_linearizable` for the rest. Raises HistoryError for an ill-formed history.
    """
    start = time.monotonic()
    cpu_start = time.process_time() + _children_cpu()
    events = list(events)
    try:
        with gc_paused():
            ops = operations(events, semantics)
            m = get_model(model, init)
            result = check_linearizable(
                ops, m, time_limit, memory_limit, all_keys, shrink, progress, jobs or default_jobs()
            )
    finally:
        if progress is not None:
            progress.close()
    add_faults(result, events)
    result["semantics"] = semantics
    result["seconds"] = time.monotonic() - start
    result["cpu_seconds"] = time.process_time() + _children_cpu() - cpu_start
    return result


def _children_cpu() -> float:
    """CPU time of this process's finished children: the check's workers, once joined."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def check_file(
    path: Path | str,
    format: str | None = None,
    model: str | None = None,
    init: Any = None,
    semantics: str | None = None,
    time_limit: float | None = DEFAULT_TIME_LIMIT,
    all_keys: bool = False,
    memory_limit: int = DEFAULT_MEMORY_LIMIT,
    shrink: bool = True,
    read_memory: int = DEFAULT_READ_MEMORY,
    progress: ProgressLine | None = None,
    jobs: int | None = None,
) -> dict[str, Any]:
    """Read a history file and check it; `model` and `semantics` default to the format's own.

    `format` None detects it. Defaults: jsonl -> cas-register, harness semantics; edn ->
    cas-register, knossos; jepsen-log -> cas-register, porcupine; porcupine-kv -> key-value,
    porcupine. A file cut short gives "unknown" at best (see `HistoryFile.qualify`).
    Raises HistoryError naming the file and line for anything in the file that cannot be checked.
    """
    parse_start = time.monotonic()
    with gc_paused():
        history = load_history(path, format, ReadBudget(read_memory))
    parse_seconds = time.monotonic() - parse_start
    try:
        result = check_history(
            history.events,
            model or DEFAULT_MODEL[history.format],
            init,
            time_limit,
            semantics or DEFAULT_SEMANTICS[history.format],
            memory_limit,
            all_keys,
            shrink,
            progress,
            jobs,
        )
    except HistoryError as e:  # an ill-formed op: the message names its line, not the file
        raise HistoryError(f"{path} {e}") from None
    result["parse_seconds"] = parse_seconds
    return history.qualify(result)


CORE_LINES = 30  # a core longer than this (shrinking ran out of time) is not listed op by op


def _op_line(op: dict[str, Any], note: str = "") -> str:
    node = f", node {op['node']}" if op.get("node") is not None else ""
    return f"[event {op.get('index')}{node}] {op.get('description')}" + (f": {note}" if note else "")


def _fault_line(faults: list[dict[str, Any]]) -> str:
    if not faults:
        return "no fault was in place while this happened"
    shown = []
    for f in faults:
        to = "the end" if f.get("to") is None else f"event {f['to']}"
        during = ", during the failing op" if f.get("during_op") else ""
        shown.append(f"{f.get('description')} (event {f.get('from')} to {to}{during})")
    return "faults in place: " + "; ".join(shown)


def summary(result: dict[str, Any]) -> list[str]:
    """A few plain lines about a verdict: the op that cannot be linearized, the ops that make it so
    (each with its event and node), and the faults in place; or why the verdict is unknown."""
    lines: list[str] = []
    cex = result.get("counterexample")
    if result.get("valid") is False and cex:
        lines.append(f"key {json.dumps(cex.get('key'))}: {cex.get('message', 'not linearizable')}")
        core = cex.get("core")
        why = cex.get("explanation")
        if cex.get("note"):
            lines.append(f"note: {cex['note']}")
        if why:
            lines.append(f"why: {why['story']}")
        if core:
            roles = {b.get("index"): f"{b.get('role')}; {b.get('when')}" for b in (why or {}).get("because", ())}
            failing = (cex.get("op") or {}).get("index")
            smallest = "smallest " if cex.get("core_minimal", True) else ""
            lines.append(f"{smallest}non-linearizable sub-history ({len(core)} ops), in the order they began:")
            shown = core if len(core) <= CORE_LINES else [c for c in core if c.get("index") == failing]
            for op in shown:
                note = "CANNOT BE LINEARIZED" if op.get("index") == failing else roles.get(op.get("index"), "")
                lines.append("  " + _op_line(op, note))
            if len(shown) < len(core):
                lines.append(f"  ... and {len(core) - len(shown)} more ops (--json shows them all)")
        if cex.get("core_note"):
            lines.append(f"note: {cex['core_note']}")
        if cex.get("unpaired_nemesis_events"):
            events = cex["unpaired_nemesis_events"]
            shown = ", ".join(map(str, events[:10])) + (", ..." if len(events) > 10 else "")
            lines.append(f"faults in place: {_fault_line(cex.get('faults') or []).removeprefix('faults in place: ')}"
                         if cex.get("faults") else "faults in place: unknown")
            lines.append(f"  (nemesis events not in start-/stop- form, so not read as faults: {shown})")
        elif "faults" in cex:
            lines.append(_fault_line(cex["faults"]))
    elif result.get("valid") == "unknown" and result.get("reason") != "history cut short":
        done = len(result.get("finished_keys", ()))
        lines.append(
            f"gave up ({_limit(result)}); {done} of {result.get('keys')} keys finished, "
            f"{result.get('configurations', 0):,} configurations explored"
        )
        for k in result.get("unknown_keys", ())[:5]:
            if k.get("completed_ops"):
                lines.append(
                    f"  key {json.dumps(k['key'])}: {k['reason']}; at best {k['linearized']} of "
                    f"{k['completed_ops']} completed ops linearized"
                )
    if result.get("cut_short"):
        lines.append(f"history cut short: {result['cut_short']}")
    return lines


def _limit(result: dict[str, Any]) -> str:
    """The reason a check gave up, with the limit that was hit and how to raise it."""
    reason = result.get("reason")
    if reason == "time limit" and result.get("time_limit") is not None:
        return f"time limit, {result['time_limit']:g} s; raise it with --time-limit"
    if reason == "memory limit" and result.get("memory_limit") is not None:
        return f"memory limit, {result['memory_limit'] / 2**20:g} MiB per key; raise it with --memory-limit"
    return str(reason)


class LinearizableChecker:
    """The linearizability checker as a `Checker`, for composing with others in the harness.

    `context` may override "time_limit", "memory_limit" and "jobs" per run.
    """

    def __init__(self, model: str = "cas-register", init: Any = None, semantics: str = "harness") -> None:
        self.model = model
        self.init = init
        self.semantics = semantics

    def check(self, history: Sequence[Event], context: Mapping[str, Any]) -> dict[str, Any]:
        return check_history(
            history,
            self.model,
            self.init,
            context.get("time_limit", DEFAULT_TIME_LIMIT),
            self.semantics,
            context.get("memory_limit", DEFAULT_MEMORY_LIMIT),
            context.get("all_keys", False),
            jobs=context.get("jobs"),
        )
