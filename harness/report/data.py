"""What the report draws, computed from a history: operations, faults, lanes, and aggregates.

Everything here is plain data (no HTML), so the plots stay simple and the numbers can be tested
on their own. Aggregates are per time bucket over the whole history: the page has to stay small
and fast for 100,000-operation runs, and a per-second summary is what a reader compares against
the fault windows anyway.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from checkers.faults import TARGET_FIELDS, cut_links
from checkers.faults import describe_fault as describe_fault  # re-exported: harness.progress labels faults too
from checkers.faults import fault_windows as paired_faults
from checkers.history import Event

OUTCOMES = ("ok", "fail", "info")
QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99, "max": 1.0}
BUCKETS = 300  # time buckets for throughput, latency quantiles and the aggregated timeline


@dataclass(slots=True)
class Span:
    """One client operation, from its invocation to its completion (`end` None: never completed)."""

    index: int
    process: int | str
    f: str
    key: Any
    start: int
    end: int | None
    type: str
    value: Any
    node: str | None = None
    error: Any = None


@dataclass(slots=True)
class Fault:
    """One fault of one nemesis kind, from the `start-<name>` invocation to the `stop-<name>` completion.

    `applied` is when the nemesis reported the fault in place (the start's completion); the
    stretch before it is the fault being set up. `end` None: the history ends with it in place.
    """

    name: str
    start: int
    applied: int | None = None
    end: int | None = None
    label: str = ""
    value: Any = None
    error: Any = None
    healed: Any = None


@dataclass
class Aggregates:
    """Per-bucket figures over [0, end]: completions by outcome and latency quantiles (ns)."""

    width: float
    counts: dict[str, list[int]] = field(default_factory=dict)
    quantiles: dict[str, list[float | None]] = field(default_factory=dict)


def spans(events: Iterable[Event]) -> list[Span]:
    """Pair client invocations with completions; an op still open at the end has `end` None."""
    open_ops: dict[Any, Event] = {}
    out: list[Span] = []
    for e in events:
        if not e.is_client:
            continue
        if e.type == "invoke":
            open_ops[e.process] = e
        elif e.process in open_ops:
            inv = open_ops.pop(e.process)
            value = e.value if e.value is not None or inv.value is None else inv.value
            out.append(Span(inv.index, e.process, e.f, e.key, inv.time, e.time, e.type, value, e.node, e.error))
    out += [Span(i.index, i.process, i.f, i.key, i.time, None, "info", i.value) for i in open_ops.values()]
    out.sort(key=lambda s: s.start)
    return out


def fault_windows(events: Iterable[Event]) -> list[Fault]:
    """Faults from the nemesis's `start-<name>` / `stop-<name>` events, each kind tracked on its own,
    on the time axis (the pairing is `checkers.faults`, shared with the checker's explanations).

    Several kinds may overlap (a partition during a clock skew); a second start of a kind that
    is still in place closes the first where the second begins.
    """
    out = []
    for w in paired_faults(events):
        applied = w.applied
        out.append(Fault(w.name, w.started.time, applied.time if applied else None,
                         w.ended.time if w.ended else None, w.label,
                         applied.value if applied else None, applied.error if applied else None, w.healed))
    return out


def summarise_faults(events: Iterable[Event]) -> dict[str, dict[str, Any]]:
    """Per nemesis kind: how many faults were injected, healed and failed, and which nodes they hit.

    This is what results.json records as "the fault mechanisms that ran", from the events
    themselves rather than from the configuration, so a nemesis that never fired shows as absent.
    """
    out: dict[str, dict[str, Any]] = {}
    for fault in fault_windows(events):
        s = out.setdefault(fault.name, {"injected": 0, "healed": 0, "failed": 0, "seconds": 0.0, "nodes": []})
        s["injected"] += 1
        s["healed"] += fault.end is not None
        s["failed"] += fault.error is not None
        if fault.end is not None:
            s["seconds"] = round(s["seconds"] + (fault.end - fault.start) / 1e9, 3)
        s["nodes"] = sorted(set(s["nodes"]) | _nodes_in(fault.value))
    return out


def _nodes_in(value: Any) -> set[str]:
    if not isinstance(value, dict):
        return set()
    nodes: set[str] = set()
    for c in value.get("components") or []:
        nodes.update(map(str, c) if isinstance(c, list) else [str(c)])
    if isinstance(value.get("grudge"), dict):
        nodes.update(n for link in cut_links(value["grudge"]) for n in link)
    for k in TARGET_FIELDS:
        v = value.get(k)
        if k == "target":
            continue  # the aim as written (`one`, `leader`): the nodes it resolved to are in `nodes`
        if isinstance(v, list):
            nodes.update(map(str, v))
        elif isinstance(v, str):
            nodes.add(v)
    offsets = value.get("offsets")
    if isinstance(offsets, dict):
        nodes.update(map(str, offsets))
    return nodes


_OFFSET_FIELDS = {"offset": 1.0, "offset_s": 1.0, "delta": 1.0, "delta_s": 1.0, "offset_ms": 1e-3, "delta_ms": 1e-3}


def _offsets(value: dict[str, Any]) -> dict[str, float]:
    """Node → clock offset (s) stated by one nemesis event's value, most trustworthy form first."""
    measured = value.get("measured")
    if isinstance(measured, dict):
        found = {str(n): float(m["offset"]) for n, m in measured.items()
                 if isinstance(m, dict) and isinstance(m.get("offset"), int | float)}
        if found:
            return found
    if isinstance(value.get("offsets"), dict):
        return {str(n): float(o) for n, o in value["offsets"].items() if isinstance(o, int | float)}
    for name, scale in _OFFSET_FIELDS.items():
        if isinstance(value.get(name), int | float):
            targets = value["nodes"] if isinstance(value.get("nodes"), list) else [value.get("node")]
            return {str(n): value[name] * scale for n in targets if n is not None}
    return {}


def clock_offsets(events: Iterable[Event]) -> dict[str, list[tuple[int, float]]]:
    """Per node, the clock offset in seconds as a step function: [(time, offset), ...].

    Read from completed nemesis events, preferring what the nemesis measured on the node
    (`measured: {node: {offset}}`) over what it meant to set (`offsets: {node: s}`, or `nodes`
    with `offset`, `delta`, `offset_ms`, ...). A clock `stop-` event that states no offsets resets
    every node seen so far to 0.
    """
    series: dict[str, list[tuple[int, float]]] = {}
    for e in events:
        if e.is_client or e.type == "invoke" or e.error is not None:
            continue
        found = _offsets(e.value) if isinstance(e.value, dict) else {}
        if not found and e.f.startswith("stop-") and series and "clock" in e.f:
            found = dict.fromkeys(series, 0.0)
        for node, offset in found.items():
            series.setdefault(node, [(0, 0.0)]).append((e.time, offset))
    return series


def lanes(ops: list[Span]) -> tuple[dict[Any, int], list[list[Any]]]:
    """Rows for the timeline: processes whose lifetimes do not overlap share a row.

    After an `info` a worker continues under a new process id, so one row per process id would
    grow without bound in a long faulty run; packing lifetimes keeps about one row per worker.
    """
    life: dict[Any, list[int]] = {}
    for s in ops:
        end = s.end if s.end is not None else s.start
        first_last = life.setdefault(s.process, [s.start, end])
        first_last[0], first_last[1] = min(first_last[0], s.start), max(first_last[1], end)
    row_of: dict[Any, int] = {}
    rows: list[list[Any]] = []
    free: list[tuple[int, int]] = []  # (ends at, row)
    for process, (first, last) in sorted(life.items(), key=lambda kv: (kv[1][0], str(kv[0]))):
        if free and free[0][0] < first:
            _, row = heapq.heappop(free)
        else:
            row = len(rows)
            rows.append([])
        rows[row].append(process)
        row_of[process] = row
        heapq.heappush(free, (last, row))
    return row_of, rows


def _quantile(sorted_values: list[int], q: float) -> float:
    return float(sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))])


def aggregate(ops: list[Span], end: int, buckets: int | None = None) -> Aggregates:
    """Completions per bucket by outcome (bucketed by completion time), and latency quantiles of
    ok operations (bucketed by start time, like the scatter they are drawn over).

    By default about 20 ops fall in a bucket (between 20 and BUCKETS buckets): quantiles of two
    or three ops are noise.
    """
    buckets = buckets or max(20, min(BUCKETS, len(ops) // 20))
    width = max(end, 1) / buckets
    agg = Aggregates(width, {t: [0] * buckets for t in OUTCOMES})
    latencies: list[list[int]] = [[] for _ in range(buckets)]
    for s in ops:
        if s.end is None:
            continue
        agg.counts[s.type][min(buckets - 1, int(s.end / width))] += 1
        if s.type == "ok":
            latencies[min(buckets - 1, int(s.start / width))].append(s.end - s.start)
    agg.quantiles = {name: [] for name in QUANTILES}
    for values in latencies:
        values.sort()
        for name, q in QUANTILES.items():
            agg.quantiles[name].append(_quantile(values, q) if values else None)
    return agg


def counts(ops: Iterable[Span]) -> dict[str, dict[str, int]]:
    """ok / fail / info per operation name (ops still open at the end count as info)."""
    out: dict[str, dict[str, int]] = {}
    for s in ops:
        out.setdefault(s.f, dict.fromkeys(OUTCOMES, 0))[s.type] += 1
    return out
