"""Finding the smallest cycle of each anomaly kind inside a strongly connected component.

Enumerating every cycle of a large component is exponential, so we never do it. A cycle lies
entirely inside one strongly connected component (networkx finds them), and inside one we
search for one anomaly kind at a time, most severe first, with breadth-first searches that
stop at the best length found so far:

- G0 (ww only) and G1c (ww and wr): the shortest cycle of the sub-graph of those edges, found
  by a breadth-first search back to each start node of that sub-graph's own components.
- G-single (exactly one rw): for each rw edge a -> b, the shortest ww/wr path from b to a.
- G-nonadjacent (two or more rw, never two in a row) and G2-item (two or more rw): the same,
  anchored on an rw edge, with the number of further rw edges (and whether the last edge was
  rw) in the search state.

The -process and -realtime variants add process or real-time edges. Kinds implied by one
already found in the component are skipped (a G0 is already a G1c and a G0-realtime), which
is also what makes the variant searches exact: once G0 was not found, any ww+process cycle
must use a process edge. Real-time edges go through the clock chain (see graph.py): a hop
into the chain costs one, hops along it cost nothing, so lengths count transactions.

Searches watch a deadline; past it they raise SearchTimeout and the caller reports
"unknown" for what was not searched.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from checkers.txn.graph import PROCESS, REALTIME, RW, WR, WW, DependencyGraph
from checkers.txn.models import implied_anomalies

# (name, non-rw relations allowed, rw rule)
_BASE = (
    ("G0", WW, "none"),
    ("G1c", WW | WR, "none"),
    ("G-single-item", WW | WR, "one"),
    ("G-nonadjacent-item", WW | WR, "nonadjacent"),
    ("G2-item", WW | WR, "many"),
)
SPECS: tuple[tuple[str, int, str], ...] = (
    _BASE
    + tuple((f"{n}-process", m | PROCESS, r) for n, m, r in _BASE)
    + tuple((f"{n}-realtime", m | PROCESS | REALTIME, r) for n, m, r in _BASE)
)
_PREFERENCE = (WW, WR, PROCESS, REALTIME)
_CHECK_EVERY = 2048


class SearchTimeout(Exception):
    """The time budget ran out in the middle of a search."""


@dataclass(frozen=True)
class Step:
    """One edge of a cycle: `a` precedes `b` because of relation `kind` (a single bit)."""

    a: int
    b: int
    kind: int


def classify(steps: list[Step]) -> str:
    """Elle's naming: by the number and adjacency of rw edges, then -realtime or -process."""
    kinds = [s.kind for s in steps]
    rw = kinds.count(RW)
    if rw == 0:
        base = "G1c" if WR in kinds else "G0"
    elif rw == 1:
        base = "G-single-item"
    else:
        adjacent = any(kinds[i] == RW and kinds[i - 1] == RW for i in range(len(kinds)))
        base = "G2-item" if adjacent else "G-nonadjacent-item"
    if REALTIME in kinds:
        return base + "-realtime"
    if PROCESS in kinds:
        return base + "-process"
    return base


class CycleSearch:
    """Searches one component of a dependency graph; `deadline` is a time.monotonic() value."""

    def __init__(self, graph: DependencyGraph, component: set[int], deadline: float | None) -> None:
        self.graph = graph
        self.component = component
        self.deadline = deadline
        self._ticks = 0
        self._subcomponents: dict[int, list[set[int]]] = {}

    def _tick(self) -> None:
        self._ticks += 1
        if self._ticks % _CHECK_EVERY == 0 and self.deadline is not None and time.monotonic() > self.deadline:
            raise SearchTimeout

    def _components(self, mask: int) -> list[set[int]]:
        """Cyclic components of this component restricted to `mask`, memoized per mask."""
        if mask not in self._subcomponents:
            self._subcomponents[mask] = self.graph.cyclic_components(mask, self.component)
        return self._subcomponents[mask]

    def has_kind(self, kind: int) -> bool:
        succ = self.graph.succ
        return any(m & kind for a in self.component for b, m in succ.get(a, {}).items() if b in self.component)

    def find(self, allowed: int, rule: str) -> list[Step] | None:
        """The shortest cycle (in transactions) of this shape, or None if there is none."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise SearchTimeout
        mask = allowed | (RW if rule != "none" else 0)
        best: list[Step] | None = None
        for comp in self._components(mask):
            found = self._shortest_closed(comp, allowed) if rule == "none" else self._shortest_anchored(
                comp, allowed, rule
            )
            if found is not None and (best is None or _length(found) < _length(best)):
                best = found
        return best

    def _edges(self, node: int, comp: set[int]) -> Iterable[tuple[int, int]]:
        for b, m in self.graph.succ.get(node, {}).items():
            if b in comp:
                yield b, m

    def _shortest_closed(self, comp: set[int], allowed: int) -> list[Step] | None:
        """Shortest cycle through any txn of `comp` using only `allowed` relations."""
        best: list[Step] | None = None
        for start in sorted(n for n in comp if self.graph.is_txn(n)):
            limit = _length(best) - 1 if best else None
            found = self._bfs(start, start, comp, allowed, "none", limit)
            if found is not None and (best is None or _length(found) < _length(best)):
                best = found
                if _length(best) == 2:
                    break
        return best

    def _shortest_anchored(self, comp: set[int], allowed: int, rule: str) -> list[Step] | None:
        """Shortest cycle that starts with an rw edge a -> b and obeys `rule` for the rest."""
        best: list[Step] | None = None
        for a in sorted(n for n in comp if self.graph.is_txn(n)):
            for b, m in sorted(self._edges(a, comp)):
                if not m & RW:
                    continue
                limit = _length(best) - 2 if best else None
                if limit is not None and limit < 1:
                    return best
                path = self._bfs(b, a, comp, allowed, rule, limit)
                if path is None:
                    continue
                cycle = [Step(a, b, RW), *path]
                if _simple(cycle) and (best is None or _length(cycle) < _length(best)):
                    best = cycle
        return best

    def _bfs(self, start: int, goal: int, comp: set[int], allowed: int, rule: str, limit: int | None) -> (
        list[Step] | None
    ):
        """0-1 breadth-first search from `start` to `goal` over states (node, extra rw, last was rw).

        `rule` "none" and "one" forbid rw edges on the path; "many" needs at least one more rw;
        "nonadjacent" needs one more and never two in a row (the anchor edge counts as an rw
        just before `start`, and the path must not end in rw since the anchor follows it).
        `limit` bounds the path length (in transaction steps); None means no bound.
        """
        use_rw = rule in ("many", "nonadjacent")
        need_extra = 1 if use_rw else 0
        start_state = (start, 0, rule == "nonadjacent")
        dist = {start_state: 0}
        parent: dict[tuple[int, int, bool], tuple[tuple[int, int, bool], int]] = {}
        queue: deque[tuple[int, int, bool]] = deque([start_state])
        is_txn = self.graph.is_txn
        succ = self.graph.succ
        while queue:
            state = queue.popleft()
            node, extra, last_rw = state
            d = dist[state]
            self._tick()
            for b, m in succ.get(node, {}).items():
                if b not in comp:
                    continue
                moves = []
                plain = m & allowed
                if plain:
                    kind = next(k for k in _PREFERENCE if plain & k)
                    moves.append((kind, extra, False))
                if use_rw and m & RW and not (rule == "nonadjacent" and last_rw) and is_txn(node):
                    moves.append((RW, 1, True))
                for kind, new_extra, now_rw in moves:
                    # Leaving a txn is one step; moving along the clock chain or out of it is free.
                    cost = 1 if is_txn(node) else 0
                    nd = d + cost
                    if limit is not None and nd > limit:
                        continue
                    if b == goal and new_extra >= need_extra and not (rule == "nonadjacent" and now_rw):
                        parent_final = (state, kind)
                        return _path(parent, state, parent_final, b, self.graph)
                    if b == goal:
                        continue
                    ns = (b, new_extra, now_rw)
                    if ns in dist and dist[ns] <= nd:
                        continue
                    dist[ns] = nd
                    parent[ns] = (state, kind)
                    if cost == 0:
                        queue.appendleft(ns)
                    else:
                        queue.append(ns)
        return None


def _path(parent: dict, last: tuple, final: tuple, goal: int, graph: DependencyGraph) -> list[Step]:
    """Rebuild the txn-level steps, folding clock-chain hops into one real-time step."""
    hops: list[tuple[int, int, int]] = [(last[0], goal, final[1])]
    state = last
    while state in parent:
        prev, kind = parent[state]
        hops.append((prev[0], state[0], kind))
        state = prev
    hops.reverse()
    steps: list[Step] = []
    pending: int | None = None
    for a, b, kind in hops:
        if not graph.is_txn(b):
            if graph.is_txn(a):
                pending = a
            continue
        if not graph.is_txn(a):
            steps.append(Step(pending if pending is not None else a, b, REALTIME))
            pending = None
            continue
        steps.append(Step(a, b, kind))
    return steps


def _length(steps: list[Step] | None) -> int:
    return len(steps) if steps is not None else 1 << 30


def _simple(steps: list[Step]) -> bool:
    nodes = [s.a for s in steps]
    return len(nodes) == len(set(nodes))


def search_component(
    graph: DependencyGraph, component: set[int], deadline: float | None, kinds: Iterable[str] | None = None
) -> tuple[dict[str, list[Step]], str | None]:
    """Every anomaly kind's smallest cycle in this component, skipping kinds implied by earlier finds.

    Returns (cycles by kind, the kind being searched when time ran out or None).
    """
    search = CycleSearch(graph, component, deadline)
    wanted = set(kinds) if kinds is not None else None
    has_process = search.has_kind(PROCESS)
    has_realtime = search.has_kind(REALTIME)
    found: dict[str, list[Step]] = {}
    implied: set[str] = set()
    for name, allowed, rule in SPECS:
        if name in implied or (wanted is not None and name not in wanted):
            continue
        if name.endswith("-process") and not has_process:
            continue
        if name.endswith("-realtime") and not (has_realtime or has_process):
            continue
        try:
            cycle = search.find(allowed, rule)
        except SearchTimeout:
            return found, name
        if cycle is None:
            continue
        kind = classify(cycle)
        if kind != name:
            # A shorter cycle of a more severe kind that an earlier search would have found; not ours.
            continue
        found[name] = cycle
        implied |= implied_anomalies([name])
    return found, None
