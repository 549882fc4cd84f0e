"""The dependency graph between transactions: ww, wr, rw edges plus process and real-time order.

Nodes are txn ids (0..n-1). Each edge carries a bit mask of the relations that hold between
its two txns, so that one pair related in several ways is one edge.

Real-time order is quadratic if drawn literally (every txn precedes every txn invoked after
it completed). Instead, each ok completion becomes a node of a "clock chain": T -> its
completion node c_i -> c_(i+1) -> ... and c_j -> U for every U invoked after the j-th
completion. T reaches U through the chain exactly when T completed before U was invoked, with
O(n) edges. Chain nodes are numbered from n upward; the cycle search counts a trip through the
chain as one real-time step, and explanations never mention chain nodes.

networkx holds the structure (strongly connected components, sub-graphs); the relation masks
live in a plain dict of dicts beside it, which is both smaller and faster to read in the
search's inner loop than per-edge attribute dicts.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from typing import Any

import networkx as nx

from checkers.txn.transactions import Txn

WW, WR, RW, PROCESS, REALTIME = 1, 2, 4, 8, 16
DATA = WW | WR | RW
KIND_NAMES = {WW: "ww", WR: "wr", RW: "rw", PROCESS: "process", REALTIME: "realtime"}


def order_step(ta: Txn, tb: Txn, kind: int) -> dict[str, Any]:
    """Why `ta` precedes `tb` when the reason is not about data: one process ran them in turn, or
    one completed before the other began. The same for every workload."""
    A, B = ta.name(), tb.name()
    if kind == PROCESS:
        return {"type": "process", "process": ta.process,
                "text": f"{A} and {B} ran one after the other on process {ta.process}"}
    if kind == REALTIME:
        return {"type": "realtime", "text": f"{A} completed (event {ta.index}) before {B} was invoked "
                                            f"(event {tb.invoke_index})"}
    return {"type": "?", "text": f"{A} precedes {B}"}


class DependencyGraph:
    """Edges between txns with their relation masks; see the module docstring for the clock chain."""

    def __init__(self, txns: Sequence[Txn]) -> None:
        self.txns = txns
        self.n = len(txns)
        self.succ: dict[int, dict[int, int]] = {}
        self.chain_len = 0

    def link(self, a: int, b: int, kind: int) -> None:
        if a == b:
            return
        d = self.succ.get(a)
        if d is None:
            self.succ[a] = {b: kind}
        else:
            d[b] = d.get(b, 0) | kind

    def link_all(self, sources: Iterable[int], b: int, kind: int) -> None:
        for a in sources:
            self.link(a, b, kind)

    def is_txn(self, node: int) -> bool:
        return node < self.n

    def has_data_edges(self) -> bool:
        return any(m & DATA for d in self.succ.values() for m in d.values())

    def cycle_core(self) -> set[int]:
        """Nodes left after repeatedly removing those with no incoming or no outgoing edge.

        Such nodes cannot be on a cycle. Peeling them (Kahn's algorithm from both ends) is a
        couple of passes over plain dicts, far cheaper than handing the whole graph to
        networkx; a valid history usually peels away to nothing.
        """
        succ = self.succ
        indeg: dict[int, int] = {}
        for d in succ.values():
            for b in d:
                indeg[b] = indeg.get(b, 0) + 1
        alive = set(succ) | set(indeg)
        todo = [n for n in alive if not indeg.get(n)]
        while todo:
            n = todo.pop()
            alive.discard(n)
            for b in succ.get(n, ()):
                indeg[b] -= 1
                if indeg[b] == 0:
                    todo.append(b)
        pred: dict[int, list[int]] = {}
        outdeg: dict[int, int] = {}
        for a in alive:
            for b in succ.get(a, ()):
                if b in alive:
                    pred.setdefault(b, []).append(a)
                    outdeg[a] = outdeg.get(a, 0) + 1
        todo = [n for n in alive if not outdeg.get(n)]
        while todo:
            n = todo.pop()
            alive.discard(n)
            for a in pred.get(n, ()):
                outdeg[a] -= 1
                if outdeg[a] == 0:
                    todo.append(a)
        return alive

    def add_process_order(self) -> None:
        """Each process's txns in order; an info txn ends the chain (its effects may come any time)."""
        last: dict[object, Txn] = {}
        for t in sorted((t for t in self.txns if t.paired and t.process is not None), key=lambda t: t.invoke_pos):
            prev = last.get(t.process)
            if prev is not None and prev.ok:
                self.link(prev.id, t.id, PROCESS)
            last[t.process] = t

    def add_realtime_order(self) -> None:
        """T precedes U when T completed (ok) before U was invoked; drawn through the clock chain."""
        done = sorted((t for t in self.txns if t.ok and t.paired and t.complete_pos is not None),
                      key=lambda t: t.complete_pos)  # type: ignore[arg-type, return-value]
        positions = [t.complete_pos for t in done]
        base = self.n
        self.chain_len = len(done)
        for i, t in enumerate(done):
            self.link(t.id, base + i, REALTIME)
            if i + 1 < len(done):
                self.link(base + i, base + i + 1, REALTIME)
        for u in self.txns:
            if not u.paired:
                continue
            j = bisect_left(positions, u.invoke_pos) - 1  # type: ignore[arg-type]
            if j >= 0:
                self.link(base + j, u.id, REALTIME)

    def networkx(self, mask: int = -1, nodes: Iterable[int] | None = None) -> nx.DiGraph:
        """The graph (or the part of it among `nodes`) restricted to edges with a relation in `mask`."""
        g = nx.DiGraph()
        if nodes is None:
            g.add_edges_from((a, b) for a, d in self.succ.items() for b, m in d.items() if m & mask)
            return g
        keep = nodes if isinstance(nodes, (set, frozenset)) else set(nodes)
        g.add_nodes_from(keep)
        succ = self.succ
        g.add_edges_from(
            (a, b) for a in keep for b, m in succ.get(a, {}).items() if m & mask and b in keep
        )
        return g

    def cyclic_components(self, mask: int = -1, nodes: Iterable[int] | None = None) -> list[set[int]]:
        """Strongly connected components that contain a cycle, largest last."""
        g = self.networkx(mask, nodes)
        comps = [c for c in nx.strongly_connected_components(g) if len(c) > 1]
        comps.sort(key=len)
        return comps
