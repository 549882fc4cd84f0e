"""Transactional anomalies in the report: each cycle drawn, and its steps in plain words.

The checker (checkers.txn) returns, per anomaly, the transactions of the smallest cycle it found,
each dependency edge with its kind (ww, wr, rw, realtime, process) and the sentence that proves
it, and each transaction's event indices. This draws exactly that: the transactions around a
circle, an arrow per edge labelled with its kind and key, and the sentences beside it. Nothing
is recomputed from the history.
"""

from __future__ import annotations

import html
import json
import math
from typing import Any

EXAMPLES = 3  # anomalies drawn per type; results.json has the rest
RADIUS, BOX_W, BOX_H = 120, 86, 26
DRAWN = 12  # a longer cycle is drawn as its first and last transactions, with the middle folded
COLOURS = {"ww": "#c62828", "wr": "#1565c0", "rw": "#6a1b9a", "realtime": "#ef6c00", "process": "#2e7d32"}

esc = html.escape


def cycle_svg(anomaly: dict[str, Any]) -> str:
    """The anomaly's cycle: transactions on a circle, arrows for its dependency edges."""
    steps = [s for s in anomaly.get("steps") or [] if isinstance(s, dict) and s.get("from") and s.get("to")]
    if len(steps) > DRAWN:
        folded = len(steps) - DRAWN + 1
        middle = f"{folded - 1} more"
        steps = [*steps[:DRAWN // 2], {"from": steps[DRAWN // 2]["from"], "to": middle, "type": "",
                                       "text": f"{folded} edges folded; results.json has them all"},
                 {"from": middle, "to": steps[-(DRAWN // 2 - 1)]["from"], "type": ""},
                 *steps[-(DRAWN // 2 - 1):]]
    names = list(dict.fromkeys(s["from"] for s in steps))
    if not names:
        return ""
    # An ellipse wide enough that neighbouring boxes do not overlap, however many there are.
    n = len(names)
    rx = max(RADIUS, 1.15 * n * BOX_W / (2 * math.pi))
    ry = max(RADIUS * 0.75, 2.6 * n * BOX_H / (2 * math.pi))
    width, height = 2 * rx + BOX_W + 20, 2 * ry + BOX_H + 30
    at = {name: (width / 2 + rx * math.sin(2 * math.pi * i / n), height / 2 - ry * math.cos(2 * math.pi * i / n))
          for i, name in enumerate(names)}
    body = ['<defs>' + "".join(
        f'<marker id="arrow-{k}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{c}"/></marker>'
        for k, c in COLOURS.items()) + "</defs>"]
    for s in steps:
        (x1, y1), (x2, y2) = at[s["from"]], at[s["to"]]
        kind = str(s.get("type", ""))
        colour = COLOURS.get(kind, "#555")
        dx, dy = x2 - x1, y2 - y1
        length = math.hypot(dx, dy) or 1
        # Shorten the line to the boxes' edges, so the arrowhead shows.
        sx, sy = x1 + dx * (BOX_H / length), y1 + dy * (BOX_H / length)
        ex, ey = x2 - dx * (BOX_H / length), y2 - dy * (BOX_H / length)
        label = kind + (f" {s['key']}" if s.get("key") is not None else "")
        body.append(f'<g class="edge"><title>{esc(str(s.get("text", label)))}</title>'
                    f'<line x1="{sx:.1f}" y1="{sy:.1f}" x2="{ex:.1f}" y2="{ey:.1f}" stroke="{colour}" '
                    f'stroke-width="2" marker-end="url(#arrow-{esc(kind)})"/>'
                    f'<text x="{(sx + ex) / 2:.1f}" y="{(sy + ey) / 2 - 4:.1f}" fill="{colour}" '
                    f'text-anchor="middle" font-size="11">{esc(label)}</text></g>')
    for name, (x, y) in at.items():
        body.append(f'<g class="txn"><rect x="{x - BOX_W / 2:.1f}" y="{y - BOX_H / 2:.1f}" width="{BOX_W}" '
                    f'height="{BOX_H}" rx="5" fill="#fff" stroke="#333"/><text x="{x:.1f}" y="{y + 4:.1f}" '
                    f'text-anchor="middle" font-size="12">{esc(name)}</text></g>')
    return (f'<svg class="cycle" width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="dependency cycle">{"".join(body)}</svg>')


def _txn_rows(anomaly: dict[str, Any]) -> str:
    rows = []
    for t in anomaly.get("txns") or []:
        if not isinstance(t, dict):
            continue
        value = json.dumps(t.get("value"), default=str)
        if len(value) > 300:
            value = value[:300] + "…"
        rows.append(f"<tr><td>{esc(str(t.get('name')))}</td><td>{esc(str(t.get('type')))}</td>"
                    f"<td>{esc(str(t.get('process')))}</td><td>{esc(str(t.get('node') or ''))}</td>"
                    f"<td>{esc(str(t.get('invoke_index')))} to {esc(str(t.get('index')))}</td>"
                    f"<td><code>{esc(value)}</code></td></tr>")
    if not rows:
        return ""
    return ("<table><tr><th>transaction</th><th>outcome</th><th>process</th><th>node</th><th>events</th>"
            f"<th>micro-ops</th></tr>{''.join(rows)}</table>")


def txn_html(result: dict[str, Any]) -> str:
    """Every anomaly type the checker found: up to EXAMPLES cases each, drawn and explained."""
    anomalies = result.get("anomalies")
    if not isinstance(anomalies, dict) or not anomalies:
        return ""
    parts = []
    if result.get("not"):
        satisfied = ", ".join(result.get("satisfies") or []) or "none of the models checked"
        parts.append(f"<p>Ruled out: <b>{esc(', '.join(map(str, result['not'])))}</b>"
                     + (f" (and {esc(', '.join(map(str, result.get('also_not') or [])))})"
                        if result.get("also_not") else "") + f". Still satisfied: {esc(satisfied)}.</p>")
    counts = result.get("anomaly_counts") or {}
    for kind, cases in anomalies.items():
        if not isinstance(cases, list):
            continue
        total = counts.get(kind, len(cases))
        parts.append(f"<h4>{esc(str(kind))} <span class=\"small\">({total} found, {min(total, EXAMPLES)} "
                     "shown)</span></h4>")
        for case in cases[:EXAMPLES]:
            if not isinstance(case, dict):
                continue
            steps = case.get("explanation") or []
            steps_html = "".join(f"<li>{esc(str(s).split('. ', 1)[-1] if str(s)[:1].isdigit() else str(s))}</li>"
                                 for s in steps)
            parts.append(f'<div class="anomaly">{cycle_svg(case)}<ol>{steps_html}</ol>{_txn_rows(case)}</div>')
    return "".join(parts)
