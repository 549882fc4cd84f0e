"""List-append: what the reads say about each key's version order, and the edges that follow.

Transactions append unique elements to lists and read whole lists. Every read of a key is a
state of that key, and a list shows the order in which its elements were appended: a read of
[3 1 2] means the states were [3], [3 1], [3 1 2]. So the version order is recovered from the
reads themselves: sort the distinct reads of a key by length; each must be a prefix of the
next, or the database showed two incompatible orders (an anomaly). The longest read is the
order. An element nobody read was appended after everything anybody read (otherwise the
longest read would contain it).

From that order (Adya's definitions): T1 -ww-> T2 when T2 appended the element right after
T1's; T1 -wr-> T2 when T2 read a list ending with T1's element; T1 -rw-> T2 when T1 read the
state just before T2's element. Anomalies visible without a cycle are found here too: aborted
reads (G1a), intermediate reads (G1b), internal inconsistency, future reads, duplicated
elements, incompatible orders, dirty updates, lost updates and reads of elements nobody
appended. Failed txns never enter the graph; info txns do with their appends only.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from checkers.txn.graph import RW, WR, WW, DependencyGraph, order_step
from checkers.txn.transactions import APPEND, READ, Txn

INIT = object()  # the empty list every key starts as


SHOWN_HEAD, SHOWN_TAIL = 2, 4  # a long list's elements shown: an explanation turns on its end


def shown(v: Any) -> str:
    if isinstance(v, tuple):
        if len(v) > SHOWN_HEAD + SHOWN_TAIL + 1:
            head = " ".join(shown(x) for x in v[:SHOWN_HEAD])
            tail = " ".join(shown(x) for x in v[-SHOWN_TAIL:])
            return f"[{head} ... {tail}] ({len(v)} values)"
        return "[" + " ".join(shown(x) for x in v) + "]"
    if v is None:
        return "nil"
    return repr(v) if isinstance(v, str) else str(v)


def _read_list(v: Any) -> tuple:
    """A read's value as a tuple; nil (absent key) is the empty list."""
    return () if v is None else v


class ListAppend:
    """Analysis of one list-append history; `anomalies` holds everything found without cycles."""

    name = "list-append"

    def __init__(self, txns: Sequence[Txn]) -> None:
        self.txns = txns
        self.anomalies: dict[str, list[dict[str, Any]]] = {}
        self.unknown_reason: str | None = None
        for t in txns:
            for f, k, v in t.mops:
                if f not in (READ, APPEND):
                    self.unknown_reason = (
                        f"{t.name()} has a {f!r} micro-op: a list-append history has only append and r"
                    )
                    return
                if f == READ and v is not None and not isinstance(v, tuple):
                    self.unknown_reason = f"{t.name()} read key {shown(k)} as {v!r}: a list-append read returns a list"
                    return
        self._index_writes()
        if self.unknown_reason is None:
            self._infer_orders()

    # --- indexes -------------------------------------------------------------------------------

    def _index_writes(self) -> None:
        self.writer: dict[Any, dict[Any, int]] = {}  # key -> element -> ok/info txn
        self.failed_writer: dict[Any, dict[Any, int]] = {}
        self.intermediate: dict[Any, dict[Any, int]] = {}  # key -> element -> txn that appended more after it
        seen: dict[tuple[Any, Any], int] = {}
        for t in self.txns:
            last: dict[Any, Any] = {}
            for f, k, v in t.mops:
                if f != APPEND:
                    continue
                other = seen.get((k, v))
                if other is not None:
                    self.unknown_reason = (
                        f"element {shown(v)} is appended to key {shown(k)} by both {self.txns[other].name()} "
                        f"and {t.name()}: list-append needs unique elements per key"
                    )
                    return
                seen[(k, v)] = t.id
                (self.failed_writer if t.type == "fail" else self.writer).setdefault(k, {})[v] = t.id
                if k in last:
                    self.intermediate.setdefault(k, {})[last[k]] = t.id
                last[k] = v

    def _infer_orders(self) -> None:
        reads: dict[Any, dict[tuple, int]] = {}  # key -> distinct read -> first txn that read it
        appends_per_key: dict[Any, list[Any]] = {}
        for t in self.txns:
            if t.type == "fail":
                continue
            for f, k, v in t.mops:
                if f == READ and t.ok:
                    lst = _read_list(v)
                    if lst:
                        reads.setdefault(k, {}).setdefault(lst, t.id)
                elif f == APPEND:
                    appends_per_key.setdefault(k, []).append(v)
        self.order: dict[Any, tuple] = {}
        self.order_source: dict[Any, tuple] = {}
        self.clean_prefix: dict[Any, int] = {}  # key -> reads up to this length hold nothing suspect
        for k, values in reads.items():
            ordered = sorted(values, key=len)
            compatible = True
            for a, b in itertools.pairwise(ordered):
                if b[: len(a)] != a:
                    self._add("incompatible-order", {"key": k, "values": [list(a), list(b)],
                                                     "txns": [values[a], values[b]]})
                    compatible = False
                    break
            if compatible:
                self.clean_prefix[k] = self._clean_prefix(k, ordered[-1])
            longest = ordered[-1]
            self.order[k] = tuple(dict.fromkeys(longest))
            self.order_source[k] = longest
        # A key appended to exactly once went [] -> [x], read or not.
        for k, vs in appends_per_key.items():
            if k not in self.order and len(vs) == 1:
                self.order[k] = (vs[0],)
        self.position = {k: {v: i for i, v in enumerate(o)} for k, o in self.order.items()}

    def _clean_prefix(self, k: Any, longest: tuple) -> int:
        """How long a prefix of `longest` has no repeated, failed or never-appended element.

        Every read of a key with compatible orders is a prefix of the longest read, so one
        look at the longest read spares the per-element checks of every shorter read.
        """
        seen: set[Any] = set()
        written = self.writer.get(k, {})
        for i, e in enumerate(longest):
            if e in seen or e not in written:
                return i
            seen.add(e)
        return len(longest)

    def _add(self, kind: str, case: dict[str, Any]) -> None:
        self.anomalies.setdefault(kind, []).append(case)

    # --- the graph -----------------------------------------------------------------------------

    def previous(self, k: Any, v: Any) -> Any:
        """The element appended just before `v` on key `k`, or INIT for the first one."""
        order = self.order.get(k, ())
        i = self.position.get(k, {}).get(v)
        if i is None:  # never read: after everything that was
            return order[-1] if order else INIT
        return order[i - 1] if i > 0 else INIT

    def build(self, graph: DependencyGraph) -> None:
        """Add ww, wr and rw edges, and find the anomalies that need no cycle."""
        readers: dict[Any, dict[Any, list[int]]] = {}
        for t in self.txns:
            if not t.ok:
                continue
            for f, k, v in t.mops:
                if f == READ:
                    lst = _read_list(v)
                    readers.setdefault(k, {}).setdefault(lst[-1] if lst else INIT, []).append(t.id)
        for t in self.txns:
            if t.type == "fail":
                continue
            if t.ok:
                self._single_txn_cases(t)
            for f, k, v in t.mops:
                if f == READ:
                    if not t.ok:
                        continue
                    lst = _read_list(v)
                    if lst:
                        self._read_cases(t, k, lst)
                        w = self.writer.get(k, {}).get(lst[-1])
                        if w is not None:
                            graph.link(w, t.id, WR)
                    continue
                prev = self.previous(k, v)
                if prev is not INIT:
                    w = self.writer.get(k, {}).get(prev)
                    if w is not None:
                        graph.link(w, t.id, WW)
                graph.link_all(readers.get(k, {}).get(prev, ()), t.id, RW)
        self._dirty_updates()
        self._lost_updates()

    def _read_cases(self, t: Txn, k: Any, lst: tuple) -> None:
        w = self.intermediate.get(k, {}).get(lst[-1])
        if w is not None and w != t.id:
            self._add("G1b", {"txn": t.id, "key": k, "read": list(lst), "element": lst[-1], "writer": w})
        if len(lst) <= self.clean_prefix.get(k, -1):
            return
        elements = set(lst)
        if len(elements) != len(lst):
            counts: dict[Any, int] = {}
            for e in lst:
                counts[e] = counts.get(e, 0) + 1
            self._add("duplicate-elements", {"txn": t.id, "key": k, "read": list(lst),
                                             "duplicates": {shown(e): c for e, c in counts.items() if c > 1}})
        failed = self.failed_writer.get(k)
        if failed:
            for e in [e for e in lst if e in failed]:
                self._add("G1a", {"txn": t.id, "key": k, "read": list(lst), "element": e, "writer": failed[e]})
        unknown = elements - self.writer.get(k, {}).keys()
        if failed:
            unknown -= failed.keys()
        for e in [e for e in lst if e in unknown]:
            self._add("garbage-read", {"txn": t.id, "key": k, "read": list(lst), "element": e})

    def _single_txn_cases(self, t: Txn) -> None:
        """Internal consistency (Cerone et al.'s INT) and reads of the txn's own future appends."""
        state: dict[Any, tuple[bool, tuple]] = {}  # key -> (prefix known, expected list or suffix)
        seen: dict[Any, set] = {}
        internal_done = False
        for i, (f, k, v) in enumerate(t.mops):
            if f == APPEND:
                if v in seen.get(k, ()):
                    self._add("future-read", {"txn": t.id, "key": k, "element": v, "mop": i})
                known, lst = state.get(k, (False, ()))
                state[k] = (known, (*lst, v))
                continue
            lst = _read_list(v)
            seen.setdefault(k, set()).update(lst)
            if k in state and not internal_done:
                known, expected = state[k]
                if known:
                    bad = lst != expected
                else:
                    bad = len(lst) < len(expected) or lst[len(lst) - len(expected) :] != expected
                if bad:
                    self._add("internal", {"txn": t.id, "key": k, "mop": i, "read": list(lst),
                                           "expected": list(expected), "prefix_known": known})
                    internal_done = True
                    continue
            state[k] = (True, lst)

    def _dirty_updates(self) -> None:
        """A failed append followed, in the version order, by a committed one (Elle's dirty update)."""
        for k, order in self.order.items():
            cur_type, cur_txn, span = "ok", None, []
            for v in order:
                w = self.writer.get(k, {}).get(v)
                w = w if w is not None else self.failed_writer.get(k, {}).get(v)
                if w is None:
                    continue
                wt = self.txns[w].type
                span.append(v)
                if wt == "ok":
                    if cur_type == "fail":
                        self._add("dirty-update", {"key": k, "values": list(span), "txns": [cur_txn, w]})
                    cur_type, cur_txn, span = "ok", w, [v]
                elif wt == "fail" and cur_type != "fail":
                    cur_type, cur_txn, span = "fail", w, [v]

    def _lost_updates(self) -> None:
        """Two committed txns read the same state of a key and both appended to it."""
        groups: dict[tuple[Any, tuple], list[int]] = {}
        for t in self.txns:
            if not t.ok:
                continue
            first_read: dict[Any, tuple] = {}
            wrote: set[Any] = set()
            for f, k, v in t.mops:
                if f == READ:
                    first_read.setdefault(k, _read_list(v))
                elif k not in wrote:
                    wrote.add(k)
                    if k in first_read:
                        groups.setdefault((k, first_read[k]), []).append(t.id)
        for (k, lst), ids in groups.items():
            if len(ids) > 1:
                self._add("lost-update", {"key": k, "read": list(lst), "txns": ids})

    # --- explanations --------------------------------------------------------------------------

    def explain_edge(self, a: int, b: int, kind: int) -> dict[str, Any]:
        """Why txn `a` precedes txn `b` by relation `kind`, as data and one plain sentence."""
        ta, tb = self.txns[a], self.txns[b]
        A, B = ta.name(), tb.name()
        if kind == WR:
            for i, (f, k, v) in enumerate(tb.mops):
                lst = _read_list(v) if f == READ else ()
                if lst and self.writer.get(k, {}).get(lst[-1]) == a:
                    return {"type": "wr", "key": k, "value": lst[-1], "b_mop": i,
                            "text": f"{A} appended {shown(lst[-1])} to key {shown(k)}; {B} read key {shown(k)} = "
                                    f"{shown(lst)}, which ends with it, so {B} saw {A}'s write and follows it"}
        if kind == WW:
            for i, (f, k, v) in enumerate(tb.mops):
                if f != APPEND:
                    continue
                prev = self.previous(k, v)
                if prev is not INIT and self.writer.get(k, {}).get(prev) == a:
                    seen = self.order_source.get(k, self.order.get(k))
                    why = (f"the longest read of key {shown(k)} is {shown(seen)}"
                           if v in self.position.get(k, {}) else
                           f"nobody read {shown(v)}, so it came after everything read of key {shown(k)}, "
                           f"which ends with {shown(prev)}")
                    return {"type": "ww", "key": k, "value": prev, "value_after": v, "b_mop": i,
                            "text": f"{A} appended {shown(prev)} to key {shown(k)} and {B} appended {shown(v)} right "
                                    f"after it ({why}), so {A}'s write came first"}
        if kind == RW:
            for i, (f, k, v) in enumerate(tb.mops):
                if f != APPEND:
                    continue
                prev = self.previous(k, v)
                for f2, k2, v2 in ta.mops:
                    if f2 != READ or k2 != k:
                        continue
                    lst = _read_list(v2)
                    if (lst[-1] if lst else INIT) == prev:
                        after = "the empty list" if prev is INIT else f"{shown(lst)}"
                        return {"type": "rw", "key": k, "read": list(lst), "value_after": v, "b_mop": i,
                                "text": f"{A} read key {shown(k)} = {after}, without {B}'s append of {shown(v)} "
                                        f"that came right after that state, so {A} precedes {B}"}
        return order_step(ta, tb, kind)
