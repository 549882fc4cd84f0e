"""Hand-written inline SVG for the plots that share one time axis.

Every plot is drawn against the same `Axis`, with the fault windows shaded, so a reader can
run an eye straight down the page from "n1 cut off" to the latency spike and the failed ops
it caused. Sizes are bounded whatever the history's length: individual marks are drawn only
up to a cap, beyond which the plots show per-bucket aggregates (see `data.aggregate`).
"""

from __future__ import annotations

import html
import json
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass

from harness.report.data import OUTCOMES, Aggregates, Fault, Span, lanes

COLORS = {"ok": "#3a9a4a", "fail": "#e0a030", "info": "#8a5cc2"}
NODE_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")
MAX_BARS = 10_000  # timeline bars drawn one by one (about 2 MB at most); beyond, per-bucket cells
MAX_DOTS = 3000  # latency points drawn; the quantile lines always use every op
ROW = 14

esc = html.escape


@dataclass(frozen=True)
class Axis:
    """Maps history time (ns since start) to x pixels; identical for every plot on the page."""

    end: int
    width: int = 1180
    left: int = 130
    right: int = 16

    def x(self, t: float) -> float:
        return self.left + (self.width - self.left - self.right) * min(max(t, 0), self.end) / max(self.end, 1)

    def svg(self, height: int, data: str, fixed: str, label: str) -> str:
        """An <svg> on this axis: `data` is positioned by time (the page script re-maps its x
        coordinates to zoom, and clips it to the plot area); `fixed` (labels, y grid) stays put.
        The data-* attributes let the script map x back to time."""
        clip = "clip-" + "-".join(label.split())
        return (f'<svg class="tx" role="img" aria-label="{esc(label)}" width="{self.width}" height="{height + 18}" '
                f'viewBox="0 0 {self.width} {height + 18}" data-end="{self.end}" data-left="{self.left}" '
                f'data-right="{self.right}" data-height="{height}" xmlns="http://www.w3.org/2000/svg">'
                f'<clipPath id="{clip}"><rect x="{self.left}" y="0" width="{self.width - self.left - self.right}" '
                f'height="{height}"/></clipPath><g class="ticks">{self._ticks(height)}</g>{fixed}'
                f'<g class="data" clip-path="url(#{clip})">{data}</g></svg>')

    def _ticks(self, height: int) -> str:
        seconds = self.end / 1e9
        step = next((s for s in (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600)
                     if seconds / s <= 12), 7200)
        out = []
        n = 0
        while n * step <= seconds + 1e-9:
            x = self.x(n * step * 1e9)
            label = f"{n * step:g}s"
            out.append(f'<line class="grid" x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height}"/>'
                       f'<text x="{x:.1f}" y="{height + 13}" text-anchor="middle">{label}</text>')
            n += 1
        return "".join(out)


def shade(axis: Axis, faults: Iterable[Fault], height: int) -> str:
    """Fault windows as translucent bands behind a plot; hovering one names the fault."""
    out = []
    for f in faults:
        x0, x1 = axis.x(f.start), axis.x(f.end if f.end is not None else axis.end)
        out.append(f'<rect class="fault" x="{x0:.1f}" y="0" width="{max(x1 - x0, 1):.1f}" height="{height}">'
                   f"<title>{esc(f.label)}</title></rect>")
    return "".join(out)


def _seconds(t: float) -> str:
    return f"{t / 1e9:.3f} s"


def faults_svg(axis: Axis, faults: list[Fault]) -> str:
    """One row per nemesis kind; each fault a labelled bar, lighter while it was being set up."""
    kinds = list(dict.fromkeys(f.name for f in faults))
    height = max(1, len(kinds)) * 22
    fixed = [f'<text x="4" y="{i * 22 + 15}">{esc(k)}</text>' for i, k in enumerate(kinds)]
    body = []
    for f in faults:
        y = kinds.index(f.name) * 22 + 2
        x0 = axis.x(f.start)
        xa = axis.x(f.applied if f.applied is not None else f.start)
        x1 = axis.x(f.end if f.end is not None else axis.end)
        tip = esc(f"{f.label}\n{_seconds(f.start)} → {_seconds(f.end) if f.end is not None else 'end of history'}"
                  + (f"\nheal: {json.dumps(f.healed, default=str)}" if f.healed is not None else ""))
        chars = int((x1 - xa) / 6.2)
        text = f.label if len(f.label) <= chars else f.label[: max(chars - 1, 0)] + "…"
        body.append(f'<g class="faultbar{" failed" if f.error else ""}"><title>{tip}</title>'
                    f'<rect class="setup" x="{x0:.1f}" y="{y}" width="{max(xa - x0, 0):.1f}" height="18"/>'
                    f'<rect class="applied" x="{xa:.1f}" y="{y}" width="{max(x1 - xa, 1):.1f}" height="18"/>'
                    + (f'<text x="{xa + 3:.1f}" y="{y + 13}">{esc(text)}</text>' if chars >= 3 else "") + "</g>")
    if not faults:
        fixed.append(f'<text x="{axis.left}" y="15">no faults were injected</text>')
    return axis.svg(height, "".join(body), "".join(fixed), "fault windows")


def _op_tip(s: Span) -> str:
    parts = [f"process {s.process}", s.f, json.dumps(s.key, default=str), json.dumps(s.value, default=str),
             f"→ {s.type}" if s.end is not None else "→ never completed"]
    if s.error is not None:
        parts.append(f"({json.dumps(s.error, default=str)})")
    if s.node:
        parts.append(f"via {s.node}")
    if s.end is not None:
        parts.append(f"{(s.end - s.start) / 1e6:.1f} ms")
    return esc(" ".join(parts) + f" at {_seconds(s.start)}, event {s.index}")


def timeline_svg(axis: Axis, ops: list[Span], faults: list[Fault], agg: Aggregates) -> str:
    """Operations per process row (green ok, orange fail, purple info).

    Up to MAX_BARS ops each get a bar with a tooltip; a longer history is drawn as per-bucket
    cells, each split by the share of ok, fail and info ops that started in it, so an
    unavailable stretch still stands out while the page stays small.
    """
    row_of, rows = lanes(ops)
    height = max(1, len(rows)) * ROW
    body = [shade(axis, faults, height)]
    fixed = []
    for r, processes in enumerate(rows):
        shown = "p " + ", ".join(map(str, processes[:2])) + (f" +{len(processes) - 2}" if len(processes) > 2 else "")
        fixed.append(f'<text x="4" y="{r * ROW + ROW - 3}"><title>processes {esc(", ".join(map(str, processes)))}'
                    f"</title>{esc(shown)}</text>")
    if len(ops) <= MAX_BARS:
        for s in ops:
            x0, x1 = axis.x(s.start), axis.x(s.end if s.end is not None else axis.end)
            cls = s.type if s.end is not None else "info open"
            body.append(f'<rect class="{cls}" x="{x0:.1f}" y="{row_of[s.process] * ROW + 2}" '
                        f'width="{max(x1 - x0, 1.2):.1f}" height="{ROW - 4}"><title>{_op_tip(s)}</title></rect>')
    else:
        cells: dict[tuple[int, int], list[int]] = {}
        for s in ops:
            b = min(len(agg.counts["ok"]) - 1, int(s.start / agg.width))
            cells.setdefault((row_of[s.process], b), [0, 0, 0])[OUTCOMES.index(s.type)] += 1
        for (row, b), tally in sorted(cells.items()):
            x0, x1 = axis.x(b * agg.width), axis.x((b + 1) * agg.width)
            y = float(row * ROW + ROW - 2)
            parts = []
            for outcome, n in zip(OUTCOMES, tally, strict=True):
                h = (ROW - 4) * n / sum(tally)
                if n:
                    y -= h
                    parts.append(f'<rect class="{outcome}" x="{x0:.1f}" y="{y:.1f}" width="{max(x1 - x0, 1):.1f}" '
                                 f'height="{h:.1f}"/>')
            ok, fail, info = tally
            body.append(f"<g><title>{ok} ok, {fail} fail, {info} info starting from {_seconds(b * agg.width)}"
                        f"</title>{''.join(parts)}</g>")
    return axis.svg(height, "".join(body), "".join(fixed), "operations timeline")


def _log_y(ns: float, lo: float, hi: float, height: int) -> float:
    return height - height * (math.log10(max(ns, lo)) - math.log10(lo)) / max(math.log10(hi / lo), 1e-9)


def latency_svg(axis: Axis, ops: list[Span], faults: list[Fault], agg: Aggregates) -> str:
    """Latency against start time, log scale: a sample of ops as dots, quantiles of every ok op as lines."""
    height = 220
    done = [s for s in ops if s.end is not None]
    if not done:
        return axis.svg(height, "", f'<text x="{axis.left}" y="20">no completed operations</text>', "latency")
    lo = 1e5  # 0.1 ms
    latency = {s.index: s.end - s.start for s in ops if s.end is not None}
    hi = 10 ** math.ceil(math.log10(max(max(latency.values()), lo * 10)))
    body = [shade(axis, faults, height)]
    fixed = []
    decade = lo
    while decade <= hi:
        y = _log_y(decade, lo, hi, height)
        label = f"{decade / 1e6:g} ms" if decade < 1e9 else f"{decade / 1e9:g} s"
        fixed.append(f'<line class="grid" x1="{axis.left}" y1="{y:.1f}" x2="{axis.width - axis.right}" '
                    f'y2="{y:.1f}"/><text x="{axis.left - 4}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
        decade *= 10
    sample = done if len(done) <= MAX_DOTS else random.Random(0).sample(done, MAX_DOTS)
    for s in sorted(sample, key=lambda s: OUTCOMES.index(s.type)):
        y = _log_y(latency[s.index], lo, hi, height)
        body.append(f'<circle class="{s.type}" cx="{axis.x(s.start):.1f}" cy="{y:.1f}" r="1.8"/>')
    for name, values in agg.quantiles.items():
        points = [f"{axis.x((b + 0.5) * agg.width):.1f},{_log_y(v, lo, hi, height):.1f}"
                  for b, v in enumerate(values) if v is not None]
        if points:
            body.append(f'<polyline class="q {name}" points="{" ".join(points)}"><title>{name} latency of ok ops'
                        f"</title></polyline>")
    legend = " ".join(f'<tspan class="lg-{n}">━ {n}</tspan>' for n in agg.quantiles)
    fixed.append(f'<text x="{axis.width - axis.right - 4}" y="12" text-anchor="end">{legend}</text>')
    if len(sample) < len(done):
        fixed.append(f'<text x="{axis.left + 4}" y="12">{len(sample)} of {len(done)} ops shown as dots</text>')
    return axis.svg(height, "".join(body), "".join(fixed), "latency")


def throughput_svg(axis: Axis, faults: list[Fault], agg: Aggregates) -> str:
    """Completions per second, stacked by outcome, one bar per bucket."""
    height = 140
    per_s = 1e9 / agg.width
    totals = [sum(agg.counts[t][b] for t in OUTCOMES) * per_s for b in range(len(agg.counts["ok"]))]
    top = max(totals, default=0) or 1
    body = [shade(axis, faults, height)]
    fixed = []
    for frac in (0.5, 1.0):
        y = height - height * frac
        fixed.append(f'<line class="grid" x1="{axis.left}" y1="{y:.1f}" x2="{axis.width - axis.right}" y2="{y:.1f}"/>'
                    f'<text x="{axis.left - 4}" y="{y + 10:.1f}" text-anchor="end">{top * frac:.0f}/s</text>')
    for b in range(len(totals)):
        if not totals[b]:
            continue
        x0, x1 = axis.x(b * agg.width), axis.x((b + 1) * agg.width)
        y = float(height)
        for t in OUTCOMES:
            h = height * agg.counts[t][b] * per_s / top
            if h:
                y -= h
                body.append(f'<rect class="{t}" x="{x0:.1f}" y="{y:.1f}" width="{max(x1 - x0, 0.8):.1f}" '
                            f'height="{h:.1f}"/>')
    return axis.svg(height, "".join(body), "".join(fixed), "throughput")


def clock_svg(axis: Axis, faults: list[Fault], offsets: dict[str, list[tuple[int, float]]]) -> str:
    """Each node's clock offset (s) as a step line; zero is the harness's clock."""
    height = 140
    top = max((abs(o) for series in offsets.values() for _, o in series), default=0.0) or 1.0
    mid = height / 2

    def y(o: float) -> float:
        return mid - (height / 2 - 6) * o / top

    body = [shade(axis, faults, height)]
    fixed = []
    for o in (top, 0.0, -top):
        fixed.append(f'<line class="grid" x1="{axis.left}" y1="{y(o):.1f}" x2="{axis.width - axis.right}" '
                    f'y2="{y(o):.1f}"/>'
                    f'<text x="{axis.left - 4}" y="{y(o) + 4:.1f}" text-anchor="end">{o:+.3g} s</text>')
    for i, (node, series) in enumerate(sorted(offsets.items())):
        color = NODE_COLORS[i % len(NODE_COLORS)]
        points: list[str] = []
        for n, (t, o) in enumerate(series):
            if n:
                points.append(f"{axis.x(t):.1f},{y(series[n - 1][1]):.1f}")
            points.append(f"{axis.x(t):.1f},{y(o):.1f}")
        points.append(f"{axis.x(axis.end):.1f},{y(series[-1][1]):.1f}")
        body.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.6" points="{" ".join(points)}">'
                    f"<title>{esc(node)}</title></polyline>")
        fixed.append(f'<text x="4" y="{14 + 13 * i}" style="fill:{color}">{esc(node)}</text>')
    return axis.svg(height, "".join(body), "".join(fixed), "clock offsets")
