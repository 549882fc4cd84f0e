"""The explained counterexample of a linearizability failure, drawn like Porcupine's visualizer.

The checker's result says which op on which key cannot be linearized, the longest prefix it
could linearize, the states the register could be in and the ops it tried. Text alone makes
the reader rebuild the picture in their head; here the failing key's ops are bars in event
order (one row per process), the failing op is marked, and the prefix's linearization is drawn
as numbered points joined in order, so "the read of 3 came after the write of 4 returned"
is visible at a glance.

Everything drawn is what the checker returned, by event index: the failing op, the shrunk core
and its explanation (each op's part in the story and the node that served it), the prefix's
linearization, and the faults in place. The report does not re-run any checker code; a result
without indices (an older results.json, another checker) degrades to the text view.
"""

from __future__ import annotations

import html
import json
from bisect import bisect_left
from typing import Any

from checkers.history import Event
from harness.report.data import Span

MAX_OPS = 24  # ops of the failing key drawn around the failing op
ROW, LEFT, WIDTH = 34, 90, 1180

esc = html.escape


def _norm(v: Any) -> str:
    return json.dumps(v, sort_keys=True, default=str)


def _indices(entries: Any) -> list[int]:
    """The event indices of a list of op entries, in order ([] unless every entry has one)."""
    if not isinstance(entries, list) or not all(isinstance(p, dict) and isinstance(p.get("index"), int)
                                                for p in entries):
        return []
    return [p["index"] for p in entries]


def _short(s: Span) -> str:
    v = s.value
    if s.f == "read":
        return f"r {'?' if s.type != 'ok' else json.dumps(v)}"
    if s.f == "cas" and isinstance(v, list) and len(v) == 2:
        return f"cas {json.dumps(v[0])}→{json.dumps(v[1])}"
    return f"{s.f[:1] if s.f == 'write' else s.f} {json.dumps(v, default=str)}"


def _core(cex: dict[str, Any]) -> set[int]:
    """Event indices of the shrunk core and of the ops its explanation names."""
    why = cex.get("explanation") if isinstance(cex.get("explanation"), dict) else {}
    return {c.get("index") for c in [*(cex.get("core") or []), *(why.get("because") or [])] if isinstance(c, dict)}


def _select(cex: dict[str, Any], key_ops: list[Span], failing: Span, order: list[int]) -> list[Span]:
    """The ops worth drawing: the failing op, the ops concurrent with it, the shrunk core, and the
    end of the linearized prefix (the part that fixes the state the failing op meets)."""
    by_index = {s.index: s for s in key_ops}
    f_end = failing.end if failing.end is not None else float("inf")
    chosen = {failing.index}
    chosen |= _core(cex) & by_index.keys()
    chosen |= {s.index for s in key_ops if s.start <= f_end and (s.end is None or s.end >= failing.start)}
    for i in reversed(order):
        if len(chosen) >= MAX_OPS:
            break
        if i in by_index:
            chosen.add(i)
    return sorted((by_index[i] for i in chosen), key=lambda s: s.start)


def counterexample_svg(cex: dict[str, Any], result: dict[str, Any], ops: list[Span], events: list[Event]) -> str:
    """The failing key's ops around the failing op, with the prefix's linearization drawn over them
    and the faults the checker found in place shaded behind.

    The x axis is event order, not wall time: linearizability depends only on which calls and
    returns precede which, and ops of a fast store are too short to see on a time scale.
    """
    key = _norm(cex.get("key"))
    key_ops = [s for s in ops if _norm(s.key) == key]
    failing_index = (cex.get("op") or {}).get("index")
    failing = next((s for s in key_ops if s.index == failing_index), None)
    if failing is None:
        return ""
    order = _indices(cex.get("prefix"))
    shown = _select(cex, key_ops, failing, order)
    core = _core(cex)
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
    time_of = {e.index: e.time for e in events}
    backdrop = []
    for f in cex.get("faults") or []:
        if not isinstance(f, dict) or f.get("from") not in time_of:
            continue
        a = max(bisect_left(times, time_of[f["from"]]) - 0.5, 0)
        b = last_slot if f.get("to") not in time_of else min(bisect_left(times, time_of[f["to"]]) - 0.5, last_slot)
        if b > a:
            backdrop.append(f'<rect class="fault" x="{x(a):.1f}" y="0" width="{x(b) - x(a):.1f}" height="{height}">'
                        f'<title>{esc(str(f.get("description")))}</title></rect>')
    for s in shown:
        a, b = ends(s)
        cls = ["cx", s.type]
        if s.index == failing.index:
            cls.append("failing")
        elif s.index in core:
            cls.append("core")
        served = f", node {s.node}" if s.node else ""
        tip = (f"{s.f} {json.dumps(s.value, default=str)} → {s.type if s.end is not None else 'no reply'}, "
               f"process {s.process}{served}, event {s.index}, {s.start / 1e9:.6f} s"
               + (f" to {s.end / 1e9:.6f} s" if s.end is not None else ""))
        label = _short(s) + (f" @{s.node}" if s.node else "")
        y = row[s.process] * ROW
        body.append(f'<g class="{" ".join(cls)}"><title>{esc(tip)}</title><rect x="{x(a):.1f}" y="{y + 8}" '
                    f'width="{max(x(b) - x(a), 4):.1f}" height="{ROW - 12}"/>'
                    f'<text x="{x(a) + 3:.1f}" y="{y + 26}">{esc(label)}</text></g>')
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
    body = backdrop + body
    return (f'<svg class="cex" width="{WIDTH}" height="{height + 14}" viewBox="0 0 {WIDTH} {height + 14}" '
            f'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="counterexample">{"".join(body)}</svg>'
            f'<p class="small">{len(shown)} of {len(key_ops)} ops on this key, laid out in event order (the '
            f"order calls and returns happened in), each labelled with the node that served it. Red: the op "
            f"that cannot be linearized; outlined: the shrunk core; shaded: faults in place; numbered points "
            f"joined by the dashed line: the end of the linearization the checker found "
            f"({drawn} of its {offset + len(order)} ops drawn).</p>")


def _described(op: Any) -> str:
    return str(op.get("description", op)) if isinstance(op, dict) else str(op)


def _where(op: dict[str, Any]) -> str:
    """"event 12, node n1": where to find an op in history.jsonl and which node answered it."""
    node = f", node {op['node']}" if op.get("node") is not None else ""
    return f"event {op.get('index')}{node}"


def _explanation_html(cex: dict[str, Any]) -> str:
    """The checker's story: the failing op, each op that makes it impossible, and the faults in place."""
    why = cex.get("explanation")
    failing = cex.get("op")
    parts = []
    if isinstance(why, dict) and isinstance(failing, dict):
        rows = [f'<tr class="failing"><td>{esc(_where(failing))}</td><td>{esc(_described(failing))}</td>'
                f"<td>cannot be linearized</td></tr>"]
        rows += [f"<tr><td>{esc(_where(b))}</td><td>{esc(_described(b))}</td>"
                 f"<td>{esc(str(b.get('role')))}; {esc(str(b.get('when')))}</td></tr>"
                 for b in why.get("because") or [] if isinstance(b, dict)]
        parts.append(f'<p class="why">Why: {esc(str(why.get("story")))}</p><table><tr><th>where</th><th>op</th>'
                     f"<th>its part (relative to the failing op)</th></tr>{''.join(rows)}</table>")
    faults = cex.get("faults")
    if isinstance(faults, list):
        items = "".join(
            f"<li>{esc(str(f.get('description')))}: event {esc(str(f.get('from')))} to "
            f"{esc('the end' if f.get('to') is None else 'event ' + str(f.get('to')))}"
            f"{' (during the failing op)' if f.get('during_op') else ''}</li>"
            for f in faults if isinstance(f, dict))
        unpaired = cex.get("unpaired_nemesis_events")
        if items:
            parts.append(f"<p>Faults in place while this happened:</p><ul>{items}</ul>")
        elif not unpaired:
            parts.append("<p>No fault was in place while this happened.</p>")
        if unpaired:
            parts.append(f"<p>Nemesis events not in start-/stop- form (not read as faults, so what was in place "
                         f"is not known here): events {esc(', '.join(map(str, unpaired)))}.</p>")
    return "".join(parts)


def counterexample_html(cex: Any, result: dict[str, Any], ops: list[Span], events: list[Event]) -> str:
    """The whole explanation: the message, the drawing, why (with nodes and faults), states, what was
    tried, the shrunk core and the prefix."""
    if not isinstance(cex, dict):
        return ""
    parts = [f"<h4>Counterexample on key {esc(json.dumps(cex.get('key'), default=str))}</h4>"]
    if cex.get("message"):
        parts.append(f'<p class="why">{esc(str(cex["message"]))}</p>')
    if cex.get("note"):
        parts.append(f'<p class="small">Note: {esc(str(cex["note"]))}</p>')
    parts.append(counterexample_svg(cex, result, ops, events))
    parts.append(_explanation_html(cex))
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
        items = "".join(f"<li>{esc(_described(c))}"
                        + (f" <span class=\"small\">({esc(_where(c))})</span>" if isinstance(c, dict) else "")
                        + "</li>" for c in core)
        parts.append(f"<details open><summary>Shrunk core: {len(core)} op(s) that, checked alone, fail on the same "
                     f"op for the same reason</summary><ol>{items}</ol></details>")
    prefix = cex.get("prefix") or []
    if prefix:
        items = "".join(f"<li>{esc(_described(p))}"
                        + (f" <span class=\"small\">({esc(_where(p))})</span>" if isinstance(p, dict) else "")
                        + "</li>" for p in prefix)
        more = f" (last {len(prefix)} of {cex.get('prefix_length')})" if cex.get("prefix_truncated") else ""
        parts.append(f"<details><summary>Linearizable prefix{esc(more)}</summary><ol>{items}</ol></details>")
    return "".join(parts)
