"""Inline SVG for the trend page: one column per run, oldest on the left, the same in every chart.

Like report.html's plots these are hand-written SVG with no script and no network, so a trend
page works as a CI artifact opened from disk. Runs are spaced evenly (nights are what matter, not
the hours between them); each mark links to its run's report and names the run when hovered.
A missing figure is a gap in the line, never a zero.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from harness.report.plots import NODE_COLORS
from harness.serve.catalog import RunSummary

esc = html.escape
SERIES_COLORS = {"ops/s": "#2e7d32", "p50": "#1565c0", "p99": "#c62828"}  # the report's colours for these
VERDICT_COLORS = {"valid": "#2e7d32", "invalid": "#c62828", "unknown": "#5f6368", "broken": "#000"}


@dataclass(frozen=True)
class RunAxis:
    """Maps a run's position (0 = oldest) to x pixels; identical for every chart on the page."""

    n: int
    width: int = 1180
    left: int = 80
    right: int = 100  # room for the legends, right of the last run

    @property
    def step(self) -> float:
        return (self.width - self.left - self.right) / max(self.n, 1)

    def x(self, i: int) -> float:
        return self.left + (i + 0.5) * self.step

    def labels(self, runs: Sequence[RunSummary], y: float) -> str:
        """Dates under the chart, thinned to about a dozen so they never overlap."""
        every = max(1, -(-self.n // 12))
        return "".join(f'<text x="{self.x(i):.1f}" y="{y:.1f}" text-anchor="middle">'
                       f'{esc(r.when.strftime("%m-%d %H:%M"))}</text>'
                       for i, r in enumerate(runs) if i % every == 0)


def _tip(run: RunSummary, extra: str = "") -> str:
    return esc(f"{run.when:%Y-%m-%d %H:%M:%S} · {run.verdict}" + (f" · seed {run.seed}" if run.seed else "")
               + (f"\n{extra}" if extra else ""))


def _svg(axis: RunAxis, height: int, label: str, body: str) -> str:
    return (f'<svg class="trend" role="img" aria-label="{esc(label)}" width="{axis.width}" height="{height + 18}" '
            f'viewBox="0 0 {axis.width} {height + 18}" xmlns="http://www.w3.org/2000/svg">{body}</svg>')


def _legend(axis: RunAxis, n: int, color: str, text: str) -> str:
    return f'<text x="{axis.width - axis.right + 8}" y="{12 + 13 * n}" style="fill:{color}">{esc(text)}</text>'


def verdict_strip(axis: RunAxis, runs: Sequence[RunSummary], hrefs: Sequence[str | None]) -> str:
    """One square per run in its verdict's colour, linking to the run's report."""
    size = min(18.0, max(axis.step - 2, 3.0))
    marks = []
    for i, (run, href) in enumerate(zip(runs, hrefs, strict=True)):
        rect = (f'<rect class="v {run.verdict}" x="{axis.x(i) - size / 2:.1f}" y="2" width="{size:.1f}" '
                f'height="18" fill="{VERDICT_COLORS[run.verdict]}"><title>{_tip(run, run.broken or "")}</title></rect>')
        marks.append(f'<a href="{esc(href)}">{rect}</a>' if href else rect)
    return _svg(axis, 22, "verdicts", '<text x="4" y="15">verdict</text>' + "".join(marks)
                + axis.labels(runs, 36))


def line_chart(axis: RunAxis, runs: Sequence[RunSummary], series: dict[str, list[float | None]], unit: str,
               label: str) -> str:
    """One polyline per series over the runs, from zero to the largest value; gaps where a run has none."""
    height = 150
    values = [v for vs in series.values() for v in vs if v is not None]
    if not values:
        return _svg(axis, 30, label, f'<text x="{axis.left}" y="18">not recorded for these runs</text>')
    top = max(values) * 1.1 or 1.0

    def y(v: float) -> float:
        return height - height * v / top

    body = []
    for frac in (0.0, 0.5, 1.0):
        gy = y(top * frac / 1.1)
        body.append(f'<line class="grid" x1="{axis.left}" y1="{gy:.1f}" x2="{axis.width - axis.right}" y2="{gy:.1f}"/>'
                    f'<text x="{axis.left - 4}" y="{gy + 4:.1f}" text-anchor="end">{top * frac / 1.1:.4g} {esc(unit)}'
                    "</text>")
    for n, (name, vs) in enumerate(series.items()):
        color = SERIES_COLORS.get(name, NODE_COLORS[n % len(NODE_COLORS)])
        segments: list[list[str]] = [[]]
        for i, v in enumerate(vs):
            if v is None:
                segments.append([])
                continue
            segments[-1].append(f"{axis.x(i):.1f},{y(v):.1f}")
            body.append(f'<circle cx="{axis.x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{color}">'
                        f"<title>{_tip(runs[i], f'{name}: {v:.4g} {unit}')}</title></circle>")
        body.extend(f'<polyline fill="none" stroke="{color}" stroke-width="1.6" points="{" ".join(s)}"/>'
                    for s in segments if len(s) > 1)
        body.append(_legend(axis, n, color, f"━ {name}"))
    return _svg(axis, height + 18, label, "".join(body) + axis.labels(runs, height + 16))


def fault_bars(axis: RunAxis, runs: Sequence[RunSummary]) -> str:
    """Faults injected per run, stacked by nemesis kind."""
    kinds = sorted({k for r in runs for k in r.faults})
    height = 110
    if not kinds:
        return _svg(axis, 30, "faults", f'<text x="{axis.left}" y="18">no faults recorded for these runs</text>')
    top = max((sum(r.faults.values()) for r in runs), default=0) or 1
    width = max(min(axis.step * 0.6, 28), 1.5)
    body = [f'<text x="{axis.left - 4}" y="12" text-anchor="end">{top}</text>'
            f'<text x="{axis.left - 4}" y="{height}" text-anchor="end">0</text>']
    for i, run in enumerate(runs):
        y = float(height)
        for k in kinds:
            n = run.faults.get(k, 0)
            if not n:
                continue
            h = height * n / top
            y -= h
            color = NODE_COLORS[kinds.index(k) % len(NODE_COLORS)]
            body.append(f'<rect x="{axis.x(i) - width / 2:.1f}" y="{y:.1f}" width="{width:.1f}" height="{h:.1f}" '
                        f'fill="{color}"><title>{_tip(run, f"{k}: {n} injected")}</title></rect>')
    for n, k in enumerate(kinds):
        color = NODE_COLORS[n % len(NODE_COLORS)]
        body.append(_legend(axis, n, color, f"■ {k}"))
    return _svg(axis, height + 18, "faults", "".join(body) + axis.labels(runs, height + 16))
