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
# For each set of non-rw relations an edge offers, the one a cycle step is named by.
_PREFERRED = [next((k for k in _PREFERENCE if m & k), 0) for m in range(32)]
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
        self._adjacencies: dict[tuple[int, int], dict[int, list[tuple[int, int]]]] = {}

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

    def _adjacency(self, comp: set[int], mask: int) -> dict[int, list[tuple[int, int]]]:
        """Edges inside `comp` with a relation in `mask`, as plain lists: the search's inner loop."""
        key = (id(comp), mask)
        adj = self._adjacencies.get(key)
        if adj is None:
            succ = self.graph.succ
            adj = {}
            for a in comp:
                out = [(b, m & mask) for b, m in succ.get(a, {}).items() if m & mask and b in comp]
                if out:
                    adj[a] = out
            self._adjacencies[key] = adj
        return adj

    def _shortest_closed(self, comp: set[int], allowed: int) -> list[Step] | None:
        """Shortest cycle through any txn of `comp` using only `allowed` relations."""
        best: list[Step] | None = None
        adj = self._adjacency(comp, allowed)
        for start in sorted(n for n in comp if self.graph.is_txn(n)):
            limit = _length(best) - 1 if best else None
            found = self._bfs(start, {start}, adj, allowed, "none", limit)
            if found is not None and (best is None or _length(found[1]) < _length(best)):
                best = found[1]
                if _length(best) == 2:
                    break
        return best

    def _shortest_anchored(self, comp: set[int], allowed: int, rule: str) -> list[Step] | None:
        """Shortest cycle that starts with an rw edge a -> b and obeys `rule` for the rest.

        One search per distinct b serves every rw edge into it: the nearest of their sources
        closes the shortest such cycle through b.
        """
        adj = self._adjacency(comp, allowed | RW)
        sources: dict[int, set[int]] = {}
        for a, out in adj.items():
            for b, m in out:
                if m & RW:
                    sources.setdefault(b, set()).add(a)
        best: list[Step] | None = None
        for b in sorted(sources):
            limit = _length(best) - 2 if best else None
            if limit is not None and limit < 1:
                break
            found = self._bfs(b, sources[b], adj, allowed, rule, limit)
            if found is None:
                continue
            a, path = found
            cycle = [Step(a, b, RW), *path]
            if _simple(cycle) and (best is None or _length(cycle) < _length(best)):
                best = cycle
        return best

    def _bfs(self, start: int, goals: set[int], adj: dict[int, list[tuple[int, int]]], allowed: int, rule: str,
             limit: int | None) -> tuple[int, list[Step]] | None:
        """0-1 breadth-first search from `start` to the nearest of `goals`, over states
        (node, extra rw, last was rw); returns (the goal reached, the path).

        `rule` "none" and "one" forbid rw edges on the path; "many" needs at least one more rw;
        "nonadjacent" needs one more and never two in a row (the anchor edge counts as an rw
        just before `start`, and the path must not end in rw since the anchor follows it).
        `limit` bounds the path length (in transaction steps); None means no bound. Leaving a
        txn costs one step; moving along the clock chain or out of it is free.
        """
        use_rw = rule in ("many", "nonadjacent")
        nonadjacent = rule == "nonadjacent"
        need_extra = 1 if use_rw else 0
        n_txns = self.graph.n
        prefer = _PREFERRED
        start_state = (start, 0, nonadjacent)
        dist = {start_state: 0}
        parent: dict[tuple[int, int, bool], tuple[tuple[int, int, bool], int]] = {}
        queue: deque[tuple[int, int, bool]] = deque([start_state])
        found: tuple[int, tuple[int, int, bool], int, int] | None = None  # (length, state, kind, goal)
        while queue:
            state = queue.popleft()
            d = dist[state]
            if found is not None and d >= found[0]:
                break
            node, extra, last_rw = state
            self._tick()
            cost = 1 if node < n_txns else 0
            nd = d + cost
            if limit is not None and nd > limit:
                continue
            for b, m in adj.get(node, ()):
                plain = m & allowed
                moves = [(prefer[plain], extra, False)] if plain else []
                if use_rw and m & RW and not (nonadjacent and last_rw):
                    moves.append((RW, 1, True))
                for kind, new_extra, now_rw in moves:
                    if b in goals and new_extra >= need_extra and not (nonadjacent and now_rw):
                        if found is None or nd < found[0]:
                            found = (nd, state, kind, b)
                        continue
                    ns = (b, new_extra, now_rw)
                    old = dist.get(ns)
                    if old is not None and old <= nd:
                        continue
                    dist[ns] = nd
                    parent[ns] = (state, kind)
                    if cost == 0:
                        queue.appendleft(ns)
                    else:
                        queue.append(ns)
        if found is None:
            return None
        _, state, kind, goal = found
        return goal, _path(parent, state, (state, kind), goal, self.graph)


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
