"""The explained counterexample of a linearizability failure, drawn like Porcupine's visualizer.

The checker's result says which op on which key cannot be linearized, the longest prefix it
could linearize, the states the register could be in and the ops it tried. Text alone makes
the reader rebuild the picture in their head; here the failing key's ops are bars in event
order (one row per process), the failing op is marked, and the prefix's linearization is drawn
as numbered points joined in order, so "the read of 3 came after the write of 4 returned"
is visible at a glance.

The checker's `prefix` lists op descriptions in linearization order. When entries carry an
event `index` it is used directly; otherwise each description is matched back to an op of the
key by re-describing the key's ops with the same model, walking the prefix from its end and
taking the latest matching op called before the failing op returned (ops of one process are
linearized in their own order, so the latest unused match is the right one). Anything missing
degrades to the text view.
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from typing import Any

from checkers.history import Event
from harness.report.data import Span

MAX_OPS = 24  # ops of the failing key drawn around the failing op
ROW, LEFT, WIDTH = 34, 90, 1180

esc = html.escape


def _norm(v: Any) -> str:
    return json.dumps(v, sort_keys=True, default=str)


def _prefix_indices(cex: dict[str, Any], result: dict[str, Any], key_events: list[Event]) -> list[int]:
    """Invocation indices of the shown prefix ops, in linearization order ([] when unknown)."""
    prefix = cex.get("prefix") or []
    if all(isinstance(p, dict) and isinstance(p.get("index"), int) for p in prefix):
        return [p["index"] for p in prefix]
    try:
        from checkers.models import get_model
        from checkers.operations import operations

        model = get_model(result.get("model", "cas-register"))
        ops = operations(key_events, result.get("semantics", "harness"))
        by_desc: dict[str, list[Any]] = defaultdict(list)
        for op in ops:
            by_desc[model.describe_op(op)].append(op)
    except Exception:  # a result from another checker or model: the text view still stands
        return []
    failing = cex.get("op") or {}
    limit = next((op.ret for op in ops if op.event_index == failing.get("index")), None)
    out: list[int] = []
    for desc in reversed(prefix):
        candidates = [op for op in by_desc.get(str(desc), [])
                      if op.event_index != failing.get("index") and (limit is None or op.call < limit)]
        if not candidates:
            return []
        op = max(candidates, key=lambda o: o.call)
        by_desc[str(desc)].remove(op)
        out.append(op.event_index)
    return out[::-1]


def _short(s: Span) -> str:
    v = s.value
    if s.f == "read":
        return f"r {'?' if s.type != 'ok' else json.dumps(v)}"
    if s.f == "cas" and isinstance(v, list) and len(v) == 2:
        return f"cas {json.dumps(v[0])}→{json.dumps(v[1])}"
    return f"{s.f[:1] if s.f == 'write' else s.f} {json.dumps(v, default=str)}"


def _select(cex: dict[str, Any], key_ops: list[Span], failing: Span, order: list[int]) -> list[Span]:
    """The ops worth drawing: the failing op, the ops concurrent with it, the shrunk core, and the
    end of the linearized prefix (the part that fixes the state the failing op meets)."""
    by_index = {s.index: s for s in key_ops}
    f_end = failing.end if failing.end is not None else float("inf")
    chosen = {failing.index}
    chosen |= {c.get("index") for c in cex.get("core") or [] if isinstance(c, dict)} & by_index.keys()
    chosen |= {s.index for s in key_ops if s.start <= f_end and (s.end is None or s.end >= failing.start)}
    for i in reversed(order):
        if len(chosen) >= MAX_OPS:
            break
        if i in by_index:
            chosen.add(i)
    return sorted((by_index[i] for i in chosen), key=lambda s: s.start)


def counterexample_svg(cex: dict[str, Any], result: dict[str, Any], ops: list[Span], events: list[Event]) -> str:
    """The failing key's ops around the failing op, with the prefix's linearization drawn over them.

    The x axis is event order, not wall time: linearizability depends only on which calls and
    returns precede which, and ops of a fast store are too short to see on a time scale.
    """
    key = _norm(cex.get("key"))
    key_ops = [s for s in ops if _norm(s.key) == key]
    failing_index = (cex.get("op") or {}).get("index")
    failing = next((s for s in key_ops if s.index == failing_index), None)
    if failing is None:
        return ""
    order = _prefix_indices(cex, result, [e for e in events if e.is_client and _norm(e.key) == key])
    shown = _select(cex, key_ops, failing, order)
    core = {c.get("index") for c in cex.get("core") or [] if isinstance(c, dict)}
    times = sorted({t for s in shown for t in (s.start, s.end) if t is not None})
    slot = {t: i for i, t in enumerate(times)}
    last_slot = len(times)  # ops that never returned run to the right edge

    def x(position: float) -> float:
        return LEFT + (WIDTH - LEFT - 40) * position / max(last_slot, 1)

    def ends(s: Span) -> tuple[int, int]:
        return slot[s.start], slot[s.end] if s.end is not None else last_slot

    processes = sorted({s.process for s in shown}, key=str)
    row = {p: i for i, p in enumerate(processes)}
    height = len(processes) * ROW + 8
    body = [f'<text x="4" y="{row[p] * ROW + 24}">process {esc(str(p))}</text>' for p in processes]
    for s in shown:
        a, b = ends(s)
        cls = ["cx", s.type]
        if s.index == failing.index:
            cls.append("failing")
        elif s.index in core:
            cls.append("core")
        tip = (f"{s.f} {json.dumps(s.value, default=str)} → {s.type if s.end is not None else 'no reply'}, "
               f"process {s.process}, event {s.index}, {s.start / 1e9:.6f} s"
               + (f" to {s.end / 1e9:.6f} s" if s.end is not None else ""))
        y = row[s.process] * ROW
        body.append(f'<g class="{" ".join(cls)}"><title>{esc(tip)}</title><rect x="{x(a):.1f}" y="{y + 8}" '
                    f'width="{max(x(b) - x(a), 4):.1f}" height="{ROW - 12}"/>'
                    f'<text x="{x(a) + 3:.1f}" y="{y + 26}">{esc(_short(s))}</text></g>')
    points: list[tuple[float, float]] = []
    last = -1.0
    by_index = {s.index: s for s in shown}
    offset = int(cex.get("prefix_length") or len(order)) - len(order)
    for n, i in enumerate(order):
        s = by_index.get(i)
        if s is None:
            continue
        a, b = ends(s)
        at = min(max(last + 0.2, a + 0.3), b - 0.1)
        last = at
        y = row[s.process] * ROW + 8
        points.append((x(at), y))
        number = offset + n + 1
        body.append(f'<g class="lin"><title>linearized #{number}</title><circle cx="{x(at):.1f}" cy="{y:.1f}" r="8"/>'
                    f'<text x="{x(at):.1f}" y="{y + 3:.1f}">{number}</text></g>')
    if points:
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
        body.insert(len(processes), f'<polyline class="linpath" points="{path}"/>')
    a, b = ends(failing)
    states = ", ".join(json.dumps(v, default=str) for v in cex.get("states") or [])
    body.append(f'<line class="failmark" x1="{x(b):.1f}" y1="0" x2="{x(b):.1f}" y2="{height}"/>'
                f'<text class="failtext" x="{x(b) + 3:.1f}" y="{row[failing.process] * ROW + 26:.1f}">✗ illegal in '
                f"state {esc(states or '?')}</text>")
    drawn = sum(1 for i in order if i in by_index)
    return (f'<svg class="cex" width="{WIDTH}" height="{height + 14}" viewBox="0 0 {WIDTH} {height + 14}" '
            f'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="counterexample">{"".join(body)}</svg>'
            f'<p class="small">{len(shown)} of {len(key_ops)} ops on this key, laid out in event order (the '
            f"order calls and returns happened in). Red: the op that cannot be linearized; outlined: the shrunk "
            f"core; numbered points joined by the dashed line: the end of the linearization the checker found "
            f"({drawn} of its {offset + len(order)} ops drawn).</p>")


def _described(op: Any) -> str:
    return str(op.get("description", op)) if isinstance(op, dict) else str(op)


def counterexample_html(cex: Any, result: dict[str, Any], ops: list[Span], events: list[Event]) -> str:
    """The whole explanation: the message, the drawing, states, what was tried, the shrunk core."""
    if not isinstance(cex, dict):
        return ""
    parts = [f"<h4>Counterexample on key {esc(json.dumps(cex.get('key'), default=str))}</h4>"]
    if cex.get("message"):
        parts.append(f'<p class="why">{esc(str(cex["message"]))}</p>')
    parts.append(counterexample_svg(cex, result, ops, events))
    if cex.get("states") is not None:
        states = ", ".join(json.dumps(s, default=str) for s in cex["states"])
        parts.append(f"<p>Possible states before the failing op returned: <code>{esc(states)}</code></p>")
    tried = cex.get("tried") or []
    if tried:
        rows = "".join(
            f"<tr><td>{esc(str(t.get('op')))}</td><td>{esc(str(t.get('index')))}</td>"
            f"<td>{esc(', '.join(f'{k} → {v}' for k, v in (t.get('from_state') or {}).items()))}</td></tr>"
            for t in tried if isinstance(t, dict))
        parts.append(f"<table><tr><th>pending op tried</th><th>event</th><th>from state → result</th></tr>"
                     f"{rows}</table>")
    core = cex.get("core") or []
    if core:
        items = "".join(f"<li>{esc(_described(c))}</li>" for c in core)
        parts.append(f"<details open><summary>Shrunk core: {len(core)} op(s) that are still not linearizable"
                     f"</summary><ol>{items}</ol></details>")
    prefix = cex.get("prefix") or []
    if prefix:
        items = "".join(f"<li>{esc(_described(p))}</li>" for p in prefix)
        more = f" (last {len(prefix)} of {cex.get('prefix_length')})" if cex.get("prefix_truncated") else ""
        parts.append(f"<details><summary>Linearizable prefix{esc(more)}</summary><ol>{items}</ol></details>")
    return "".join(parts)
