"""Check a transactional history: analyse the workload, build the graph, search the cycles, judge.

The verdict follows Elle: false when an anomaly the chosen consistency model forbids was
found; "unknown" when nothing forbidden was found but the analysis could not finish (the time
budget ran out, or no dependency between transactions could be inferred at all); true
otherwise. Every anomaly found is reported, forbidden or not, so the result also says which
of the six models the history still satisfies (none of their forbidden anomalies was found).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from checkers.history import Event
from checkers.txn.cycles import search_component
from checkers.txn.explain import case_anomaly, cycle_anomaly
from checkers.txn.graph import DependencyGraph
from checkers.txn.list_append import ListAppend
from checkers.txn.models import UNKNOWN_TYPES, boundary, check_model, forbidden_anomalies
from checkers.txn.rw_register import RwRegister
from checkers.txn.transactions import Txn, transactions

WORKLOADS = ("list-append", "rw-register")
DEFAULT_MODEL = "strict-serializable"
MAX_EXAMPLES = 8


def check(
    events: Iterable[Event],
    workload: str = "list-append",
    consistency_model: str | Iterable[str] | None = DEFAULT_MODEL,
    anomalies: Iterable[str] = (),
    time_limit: float | None = None,
    wfr_keys: bool = False,
    sequential_keys: bool = False,
    linearizable_keys: bool = False,
    max_examples: int = MAX_EXAMPLES,
) -> dict[str, Any]:
    """Check a transactional history; see the module docstring for the verdict.

    `consistency_model` may also be a list (all must hold) or None with `anomalies`.
    `anomalies` adds specific anomalies to forbid (Elle's :anomalies option). `time_limit`
    (seconds, counted from the start of the check) is watched by the cycle search, the only
    part whose cost is not linear in the history: past it the search stops and says what it
    did not search. `wfr_keys` (rw-register only) assumes a txn's writes follow its reads of
    the same key when inferring version orders, as Elle's :wfr-keys? does; `sequential_keys`
    and `linearizable_keys` assume each key is sequential / linearizable on its own and infer
    version order from process / real-time order (Elle's options of the same names). At most
    `max_examples` cases of each anomaly are explained; "anomaly_counts" has the totals.
    """
    start, cpu_start = time.monotonic(), time.process_time()
    deadline = start + time_limit if time_limit is not None else None
    models = _models(consistency_model)
    if workload not in WORKLOADS:
        raise ValueError(f"unknown transactional workload {workload!r}; expected one of {', '.join(WORKLOADS)}")
    txns = transactions(events)
    if workload == "list-append":
        analysis: ListAppend | RwRegister = ListAppend(txns)
    else:
        analysis = RwRegister(txns, wfr_keys, sequential_keys, linearizable_keys)
    base: dict[str, Any] = {"workload": workload, "consistency_model": consistency_model, "txns": len(txns)}
    if analysis.unknown_reason is not None:
        return {**base, "valid": "unknown", "reason": analysis.unknown_reason, **_timing(start, cpu_start)}

    graph = DependencyGraph(txns)
    analysis.build(graph)
    graph.add_process_order()
    graph.add_realtime_order()
    found: dict[str, list[dict[str, Any]]] = {k: list(v) for k, v in analysis.anomalies.items()}
    explained: dict[str, list[dict[str, Any]]] = {
        k: [case_anomaly(k, c, txns) for c in v[:max_examples]] for k, v in found.items()
    }
    counts = {k: len(v) for k, v in found.items()}
    if not graph.has_data_edges():
        counts["empty-transaction-graph"] = 1
        explained["empty-transaction-graph"] = [case_anomaly("empty-transaction-graph", {}, txns)]

    components = graph.cyclic_components(nodes=graph.cycle_core())
    for searched, comp in enumerate(components):
        cycles, timed_out = search_component(graph, comp, deadline)
        for kind, steps in cycles.items():
            counts[kind] = counts.get(kind, 0) + 1
            if len(explained.setdefault(kind, [])) < max_examples:
                explained[kind].append(cycle_anomaly(kind, steps, txns, analysis.explain_edge))
        if timed_out is not None:
            case = {"searching": timed_out, "component_size": sum(1 for n in comp if graph.is_txn(n)),
                    "unsearched": len(components) - searched - 1}
            counts["cycle-search-timeout"] = 1
            explained["cycle-search-timeout"] = [case_anomaly("cycle-search-timeout", case, txns)]
            break

    return {**base, **_verdict(counts, explained, models, anomalies),
            "components": [sum(1 for n in c if graph.is_txn(n)) for c in components][-5:],
            **_timing(start, cpu_start)}


def _models(model: str | Iterable[str] | None) -> list[str]:
    """One model name, several (all must hold) or None (only the named `anomalies` are forbidden)."""
    if model is None:
        return []
    return [check_model(m) for m in ([model] if isinstance(model, str) else model)]


def _verdict(
    counts: dict[str, int], explained: dict[str, list[dict[str, Any]]], models: list[str], extra: Iterable[str]
) -> dict[str, Any]:
    forbidden = forbidden_anomalies(models, extra)
    types = sorted(counts)
    bad = [t for t in types if t in forbidden]
    unknown = [t for t in types if t in UNKNOWN_TYPES]
    valid: bool | str = False if bad else ("unknown" if unknown else True)
    models = boundary(t for t in types if t not in UNKNOWN_TYPES)
    out: dict[str, Any] = {
        "valid": valid,
        "anomaly_types": types,
        "forbidden_anomaly_types": bad,
        "anomaly_counts": counts,
        "anomalies": explained,
        # The first case of each kind, in words: what a report or a terminal shows first.
        "explanations": {t: explained[t][0]["explanation"] for t in types if explained.get(t)},
        "not": models["not"],
        "also_not": models["also_not"],
    }
    if unknown:
        out["reason"] = "; ".join(explained[t][0]["explanation"][0] for t in unknown)
        out["not_ruled_out"] = models["satisfies"]
    else:
        out["satisfies"] = models["satisfies"]
    return out


def _timing(start: float, cpu_start: float) -> dict[str, float]:
    return {"seconds": time.monotonic() - start, "cpu_seconds": time.process_time() - cpu_start}


def summary(r: dict[str, Any]) -> list[str]:
    """Terminal lines: the verdict, each anomaly with its first explanation and events, the models."""
    lines = [f"valid: {r['valid']}  ({r['txns']} txns, {r['workload']}, {r['consistency_model']})"]
    if r.get("reason"):
        lines.append(f"reason: {r['reason']}")
    for kind, n in sorted(r.get("anomaly_counts", {}).items()):
        forbidden = " (forbidden)" if kind in r.get("forbidden_anomaly_types", ()) else ""
        lines.append(f"{kind}: {n}{forbidden}")
        for case in r["anomalies"].get(kind, [])[:1]:
            lines += [f"    {line}" for line in case["explanation"]]
            lines.append(f"    events: {case['events']}")
    if "not" in r:
        lines.append(f"not: {', '.join(r['not']) or '-'}; also not: {', '.join(r['also_not']) or '-'}")
        held = r.get("satisfies", r.get("not_ruled_out", []))
        label = "satisfies" if "satisfies" in r else "not ruled out"
        lines.append(f"{label}: {', '.join(held) or '-'}")
    return lines


class TxnChecker:
    """The transactional checker as a `Checker` (checkers/checker.py) for composing in the harness.

    `context` may override "time_limit" and "consistency_model" per run.
    """

    def __init__(self, workload: str = "list-append", consistency_model: str = DEFAULT_MODEL, **options: Any) -> None:
        self.workload = workload
        self.consistency_model = check_model(consistency_model)
        self.options = options

    def check(self, history: Sequence[Event], context: Mapping[str, Any]) -> dict[str, Any]:
        return check(
            history,
            self.workload,
            context.get("consistency_model", self.consistency_model),
            time_limit=context.get("time_limit"),
            **self.options,
        )


__all__ = ["DEFAULT_MODEL", "WORKLOADS", "Txn", "TxnChecker", "check", "summary"]
