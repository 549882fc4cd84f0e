"""Plain-words explanations of anomalies, and the transactions (with event indices) behind each.

A reader of a report should be able to check every claim against the history by hand: each
cycle is told edge by edge ("T1 appended 3 to key 5; T2 read key 5 without 3, so T2 precedes
T1; ..."), ending with why the cycle is impossible under the models it rules out, and every
anomaly lists the event indices of the transactions involved so the report can draw them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from checkers.txn.cycles import Step
from checkers.txn.graph import KIND_NAMES
from checkers.txn.list_append import shown
from checkers.txn.transactions import Txn

MEANING = {
    "G0": "a cycle of write-write dependencies: the transactions' writes interleave (dirty write)",
    "G1a": "a committed transaction read a value written by a transaction that failed (aborted read)",
    "G1b": "a transaction read a value that another transaction later overwrote itself (intermediate read)",
    "G1c": "a cycle of write-write and write-read dependencies (circular information flow)",
    "G-single-item": "a dependency cycle with exactly one anti-dependency (read skew)",
    "G-nonadjacent-item": "a dependency cycle with several anti-dependencies, never two in a row",
    "G2-item": "a dependency cycle with two or more anti-dependencies (write skew)",
    "internal": "a transaction's read disagrees with its own earlier reads and writes",
    "future-read": "a transaction read an element before appending it itself",
    "duplicate-elements": "a read shows the same appended element more than once",
    "incompatible-order": "two reads of a key are not prefixes of one another: no single append order explains both",
    "dirty-update": "a committed write was ordered right after a failed one, building on aborted state",
    "lost-update": "two committed transactions read the same state of a key and both wrote it",
    "garbage-read": "a read returned a value no transaction ever wrote",
    "cyclic-versions": "the inferred version order of a key is itself cyclic",
    "empty-transaction-graph": "no dependency between transactions could be inferred, so nothing could be checked",
    "cycle-search-timeout": "the time budget ran out before every cycle search finished",
}
for _base in ("G0", "G1c", "G-single-item", "G-nonadjacent-item", "G2-item"):
    MEANING[f"{_base}-process"] = MEANING[_base] + ", closed by a process's own order of operations"
    MEANING[f"{_base}-realtime"] = MEANING[_base] + ", closed by real-time order (one completed before the next began)"


def describe_txn(t: Txn) -> dict[str, Any]:
    return {
        "name": t.name(),
        "type": t.type,
        "process": t.process,
        "invoke_index": t.invoke_index,
        "index": t.index,
        "value": [[f, k, list(v) if isinstance(v, tuple) else v] for f, k, v in t.mops],
    }


def cycle_anomaly(
    kind: str, steps: Sequence[Step], txns: Sequence[Txn], explain_edge: Callable[[int, int, int], dict[str, Any]]
) -> dict[str, Any]:
    """A cycle as Elle reports it, plus sentences and the txns' event indices."""
    explained = []
    for s in steps:
        e = explain_edge(s.a, s.b, s.kind)
        e.setdefault("type", KIND_NAMES[s.kind])
        e["from"], e["to"] = txns[s.a].name(), txns[s.b].name()
        explained.append(e)
    names = [txns[s.a].name() for s in steps] + [txns[steps[0].a].name()]
    lines = [f"{i + 1}. {e['text']}." for i, e in enumerate(explained)]
    lines.append(
        f"So {' < '.join(names)}: {names[0]} would have to precede itself. This is {kind}: {MEANING.get(kind, kind)}."
    )
    involved = [txns[s.a] for s in steps]
    return {
        "type": kind,
        "cycle": names,
        "steps": explained,
        "explanation": lines,
        "txns": [describe_txn(t) for t in involved],
        "events": sorted({i for t in involved for i in t.events()}),
    }


def case_anomaly(kind: str, case: dict[str, Any], txns: Sequence[Txn]) -> dict[str, Any]:
    """A non-cycle anomaly case with a sentence and the txns involved."""
    ids = [case[f] for f in ("txn", "writer") if case.get(f) is not None] + list(case.get("txns", ()))
    ids = [i for i in dict.fromkeys(ids) if i is not None]
    involved = [txns[i] for i in ids]
    out = {k: v for k, v in case.items() if k not in ("txn", "writer", "txns")}
    out["type"] = kind
    out["explanation"] = [_sentence(kind, case, txns)]
    out["txns"] = [describe_txn(t) for t in involved]
    out["events"] = sorted({i for t in involved for i in t.events()})
    return out


def _name(txns: Sequence[Txn], i: Any) -> str:
    return txns[i].name() if isinstance(i, int) else "an unknown transaction"


def _sentence(kind: str, c: dict[str, Any], txns: Sequence[Txn]) -> str:
    T = _name(txns, c.get("txn"))
    k = c.get("key")
    if kind == "G1a":
        return (f"{_name(txns, c['writer'])} failed, yet {T} read key {k!r} = {c.get('read')!r}, "
                f"which contains its write {c['element']!r}: an aborted read.")
    if kind == "G1b":
        return (f"{_name(txns, c['writer'])} wrote {c['element']!r} to key {k!r} and then wrote key {k!r} again "
                f"in the same transaction; {T} read {c.get('read')!r}, a state that transaction never left "
                f"behind: an intermediate read.")
    if kind == "internal":
        what = "exactly" if c.get("prefix_known", True) else "a value ending with"
        return (f"{T} read key {k!r} = {c.get('read')!r} (micro-op {c.get('mop')}), but its own earlier "
                f"micro-ops mean it should have seen {what} {c.get('expected')!r}.")
    if kind == "future-read":
        return f"{T} read key {k!r} containing {c['element']!r} before it appended {c['element']!r} itself."
    if kind == "duplicate-elements":
        return f"{T} read key {k!r} = {c['read']!r}, in which {c['duplicates']} appear more than once."
    if kind == "incompatible-order":
        a, b = (tuple(v) if isinstance(v, list | tuple) else (v,) for v in c["values"])
        same = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
        return (f"Key {k!r} was read as {shown(a)} and as {shown(b)}: they agree on the first {same} values, "
                f"then one has {a[same]!r} where the other has {b[same]!r}, so neither is a prefix of the other.")
    if kind == "dirty-update":
        a, b = c["txns"]
        return (f"On key {k!r}, {_name(txns, a)} failed after appending {c['values'][0]!r}, yet committed "
                f"{_name(txns, b)}'s append of {c['values'][-1]!r} follows it in the order {c['values']!r}.")
    if kind == "lost-update":
        names = [_name(txns, i) for i in c["txns"]]
        who = ", ".join(names[:-1]) + " and " + names[-1]
        return (f"{who} each read key {k!r} = {c.get('read', c.get('value'))!r} and then wrote key {k!r}; "
                f"all committed, yet in any serial order each later one would have read the earlier ones' "
                f"writes: updates were lost.")
    if kind == "garbage-read":
        return f"{T} read key {k!r} = {c.get('read', c.get('value'))!r}, but no transaction wrote {c['element']!r}."
    if kind == "cyclic-versions":
        return f"The version order inferred for key {k!r} is cyclic among values {c.get('values')!r}."
    if kind == "cycle-search-timeout":
        return (f"The time budget ran out while looking for {c.get('searching')} in a component of "
                f"{c.get('component_size')} transactions; {c.get('unsearched', 0)} more components were not searched.")
    return MEANING.get(kind, kind)
