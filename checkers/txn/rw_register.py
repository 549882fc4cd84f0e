"""rw-register: reads and writes of registers with unique values per key, and what they prove.

A register read shows one value, not the history of the key, so much less of the version
order can be recovered than for list-append. We infer only what is sound, as Elle does:

- wr: a read of k = v follows the one write of k = v (values are unique per key).
- the initial state: every key starts absent (nil), so nil precedes every value of it; a txn
  that read k as nil precedes (rw) every txn that wrote k.
- optionally (`wfr_keys`, Elle's :wfr-keys?): a txn that read k = v and then wrote k = v'
  put v' after v. This assumes writes follow reads within a transaction, which a database
  could violate, so it is off unless asked for.
- optionally (`sequential_keys` / `linearizable_keys`, Elle's :sequential-keys? and
  :linearizable-keys?): if each key on its own is sequentially consistent (linearizable), a
  txn that follows another in its process (in real time) sees a version of each shared key no
  older than the other's last. Also assumptions, also off unless asked for.

Only external reads (the first read of a key, before the txn writes it) and external writes
(the txn's last write of a key) relate txns; the others are checked for internal consistency.
A version order that comes out cyclic for a key is itself an anomaly (cyclic-versions) and
the optional inference is dropped for that key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import networkx as nx

from checkers.txn.graph import RW, WR, WW, DependencyGraph, order_step
from checkers.txn.transactions import READ, WRITE, Txn

NIL = None
_NIL_NODE = ("nil",)  # networkx refuses None as a node


def _node(v: Any) -> Any:
    return _NIL_NODE if v is NIL else v


def _cycles(edges: dict[tuple[Any, Any], str]) -> list[set[Any]]:
    g = nx.DiGraph()
    g.add_edges_from((_node(a), _node(b)) for a, b in edges)
    return [c for c in nx.strongly_connected_components(g) if len(c) > 1]


def external(t: Txn) -> tuple[dict[Any, Any], dict[Any, Any]]:
    """(external reads, external writes) of a txn, each as {key: value}."""
    reads: dict[Any, Any] = {}
    writes: dict[Any, Any] = {}
    for f, k, v in t.mops:
        if f == READ:
            if k not in writes and k not in reads:
                reads[k] = v
        else:
            writes[k] = v
    return reads, writes


class RwRegister:
    """Analysis of one rw-register history; `anomalies` holds everything found without cycles."""

    name = "rw-register"

    def __init__(self, txns: Sequence[Txn], wfr_keys: bool = False, sequential_keys: bool = False,
                 linearizable_keys: bool = False) -> None:
        self.txns = txns
        self.wfr_keys = wfr_keys
        self.sequential_keys = sequential_keys
        self.linearizable_keys = linearizable_keys
        self.anomalies: dict[str, list[dict[str, Any]]] = {}
        self.unknown_reason: str | None = None
        for t in txns:
            for f, _, _ in t.mops:
                if f not in (READ, WRITE):
                    self.unknown_reason = f"{t.name()} has a {f!r} micro-op: an rw-register history has only w and r"
                    return
        self.ext = [external(t) for t in txns]
        self._index()

    def _add(self, kind: str, case: dict[str, Any]) -> None:
        self.anomalies.setdefault(kind, []).append(case)

    def _index(self) -> None:
        self.writer: dict[Any, dict[Any, int]] = {}  # key -> value -> ok/info txn (external write)
        self.failed: dict[Any, dict[Any, int]] = {}
        self.intermediate: dict[Any, dict[Any, int]] = {}
        self.any_writer: dict[Any, dict[Any, int]] = {}
        for t in self.txns:
            last: dict[Any, Any] = {}
            for f, k, v in t.mops:
                if f != WRITE:
                    continue
                other = self.any_writer.setdefault(k, {}).get(v)
                if other is not None:
                    self.unknown_reason = (
                        f"value {v!r} is written to key {k!r} more than once: rw-register needs unique values per key"
                    )
                    return
                self.any_writer[k][v] = t.id
                if t.type == "fail":
                    self.failed.setdefault(k, {})[v] = t.id
                if k in last:
                    self.intermediate.setdefault(k, {})[last[k]] = t.id
                last[k] = v
            if t.type != "fail":
                for k, v in self.ext[t.id][1].items():
                    self.writer.setdefault(k, {})[v] = t.id

    def _version_edges(self) -> dict[Any, dict[tuple[Any, Any], str]]:
        """key -> {(v1, v2): why v1 precedes v2}, from each source of evidence in turn.

        A source that would make a key's version order cyclic is an anomaly (cyclic-versions),
        and its edges are dropped for that key, so the rest of the analysis stays sound.
        """
        Edges = dict[Any, dict[tuple[Any, Any], tuple[str, list[int]]]]
        initial: Edges = {}
        for t in self.txns:
            if t.type == "fail":
                continue
            reads, writes = self.ext[t.id]
            for k, v in list(writes.items()) + (list(reads.items()) if t.ok else []):
                if v is not NIL:
                    initial.setdefault(k, {}).setdefault((NIL, v), ("every key starts out nil", []))
        sources = [initial]
        if self.wfr_keys:
            wfr: Edges = {}
            for t in self.txns:
                if t.ok:
                    reads, writes = self.ext[t.id]
                    for k, v in reads.items():
                        if v is not NIL and k in writes and v != writes[k]:
                            wfr.setdefault(k, {})[(v, writes[k])] = (
                                f"{t.name()} read {v!r} and then wrote {writes[k]!r}", [t.id])
            sources.append(wfr)
        if self.sequential_keys:
            sources.append(self._order_edges("sequential"))
        if self.linearizable_keys:
            sources.append(self._order_edges("linearizable"))
        edges: dict[Any, dict[tuple[Any, Any], str]] = {}
        for i, source in enumerate(sources):
            for k, es in source.items():
                merged = {**{e: why for e, (why, _) in es.items()}, **edges.get(k, {})}
                cyclic = _cycles(merged) if i > 0 else []
                for c in cyclic:
                    ids = sorted({t for (a, b), (_, ts) in es.items() if _node(a) in c and _node(b) in c for t in ts})
                    values = sorted((None if v == _NIL_NODE else v for v in c), key=repr)
                    self._add("cyclic-versions", {"key": k, "values": values, "txns": ids})
                if not cyclic:
                    edges[k] = merged
        return edges

    def _order_edges(self, kind: str) -> dict[Any, dict[tuple[Any, Any], tuple[str, list[int]]]]:
        """Version edges from a txn order, assuming each key is sequential / linearizable on its own.

        If T1 precedes T2 (same process, one after the other; or T1 completed before T2 began)
        and both touched key k, T2's first value of k is not older than T1's last. Only the
        nearest followers per key are linked (the order is transitive).
        """
        out: dict[Any, dict[tuple[Any, Any], tuple[str, list[int]]]] = {}

        def first_last(t: Txn, k: Any) -> tuple[Any, Any]:
            reads, writes = self.ext[t.id]
            first = reads[k] if k in reads and t.ok else writes.get(k)
            return first, writes[k] if k in writes else reads.get(k)

        def link(k: Any, t1: Txn, t2: Txn) -> None:
            v1, v2 = first_last(t1, k)[1], first_last(t2, k)[0]
            if v1 != v2:
                why = (f"{t1.name()} and {t2.name()} ran in that order on process {t1.process}" if kind == "sequential"
                       else f"{t1.name()} completed before {t2.name()} began")
                out.setdefault(k, {}).setdefault((v1, v2), (f"{why}, and key {k!r} is assumed {kind}", [t1.id, t2.id]))

        def keys_of(t: Txn) -> set[Any]:
            reads, writes = self.ext[t.id]
            return set(writes) | (set(reads) if t.ok else set())

        live = [t for t in self.txns if t.type != "fail" and t.paired]
        if kind == "sequential":
            last: dict[tuple[Any, Any], Txn] = {}
            for t in sorted((t for t in live if t.process is not None), key=lambda t: t.invoke_pos):
                for k in keys_of(t):
                    prev = last.get((t.process, k))
                    if prev is not None and prev.ok:
                        link(k, prev, t)
                    last[(t.process, k)] = t
            return out
        # Real time, per key: link each txn from the frontier of txns completed before it began.
        events = sorted([(t.invoke_pos, 1, t) for t in live] +
                        [(t.complete_pos, 0, t) for t in live if t.ok and t.complete_pos is not None],
                        key=lambda e: e[0])
        frontier: dict[Any, set[int]] = {}
        seen_at_invoke: dict[tuple[int, Any], set[int]] = {}
        for _, is_invoke, t in events:
            for k in keys_of(t):
                f = frontier.setdefault(k, set())
                if is_invoke:
                    for p in f:
                        link(k, self.txns[p], t)
                    seen_at_invoke[(t.id, k)] = set(f)
                else:
                    f -= seen_at_invoke.pop((t.id, k), set())
                    f.add(t.id)
        return out

    def build(self, graph: DependencyGraph) -> None:
        """Add wr, ww and rw edges and find the anomalies that need no cycle."""
        readers: dict[Any, dict[Any, list[int]]] = {}
        for t in self.txns:
            if not t.ok:
                continue
            self._internal(t)
            for k, v in self.ext[t.id][0].items():
                readers.setdefault(k, {}).setdefault(v, []).append(t.id)
            for f, k, v in t.mops:
                if f != READ or v is NIL:
                    continue
                if v in self.failed.get(k, {}):
                    self._add("G1a", {"txn": t.id, "key": k, "read": v, "element": v, "writer": self.failed[k][v]})
                elif v not in self.any_writer.get(k, {}):
                        self._add("garbage-read", {"txn": t.id, "key": k, "read": v, "element": v})
                w = self.intermediate.get(k, {}).get(v)
                if w is not None and w != t.id:
                    self._add("G1b", {"txn": t.id, "key": k, "read": v, "element": v, "writer": w})
            for k, v in self.ext[t.id][0].items():
                w = self.writer.get(k, {}).get(v) if v is not NIL else None
                if w is not None:
                    graph.link(w, t.id, WR)
        self.versions = self._version_edges()
        for k, es in self.versions.items():
            writers = self.writer.get(k, {})
            for v1, v2 in es:
                w2 = writers.get(v2)
                if w2 is None:
                    continue
                w1 = writers.get(v1) if v1 is not NIL else None
                if w1 is not None:
                    graph.link(w1, w2, WW)
                graph.link_all(readers.get(k, {}).get(v1, ()), w2, RW)
        self._lost_updates()

    def _internal(self, t: Txn) -> None:
        state: dict[Any, Any] = {}
        for i, (f, k, v) in enumerate(t.mops):
            if f == WRITE:
                state[k] = v
            elif k in state and state[k] != v:
                self._add("internal", {"txn": t.id, "key": k, "mop": i, "read": v, "expected": state[k]})
                return
            else:
                state[k] = v

    def _lost_updates(self) -> None:
        groups: dict[tuple[Any, Any], list[int]] = {}
        for t in self.txns:
            if not t.ok:
                continue
            reads, writes = self.ext[t.id]
            for k in writes:
                if k in reads:
                    groups.setdefault((k, reads[k]), []).append(t.id)
        for (k, v), ids in groups.items():
            if len(ids) > 1:
                self._add("lost-update", {"key": k, "value": v, "txns": ids})

    def explain_edge(self, a: int, b: int, kind: int) -> dict[str, Any]:
        """Why txn `a` precedes txn `b` by relation `kind`, as data and one plain sentence."""
        ta, tb = self.txns[a], self.txns[b]
        A, B = ta.name(), tb.name()
        (ra, wa), (rb, wb) = self.ext[a], self.ext[b]
        if kind == WR:
            for k, v in rb.items():
                if v is not NIL and wa.get(k, NIL) == v:
                    return {"type": "wr", "key": k, "value": v,
                            "text": f"{A} wrote key {k!r} = {v!r} and {B} read that value, so {B} follows {A}"}
        if kind in (WW, RW):
            source = wa if kind == WW else ra
            for k, v1 in source.items():
                v2 = wb.get(k, NIL)
                why = self.versions.get(k, {}).get((v1, v2)) if v2 is not NIL else None
                if why is None:
                    continue
                if kind == WW:
                    return {"type": "ww", "key": k, "value": v1, "value_after": v2,
                            "text": f"{A} wrote key {k!r} = {v1!r} and {B} wrote {v2!r}, which comes later "
                                    f"({why}), so {A}'s write came first"}
                shown = "nil (absent)" if v1 is NIL else repr(v1)
                return {"type": "rw", "key": k, "value": v1, "value_after": v2,
                        "text": f"{A} read key {k!r} = {shown}, a version before {B}'s write of {v2!r} ({why}), "
                                f"so {A} precedes {B}"}
        return order_step(ta, tb, kind)
