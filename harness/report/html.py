"""report.html: one self-contained page (inline SVG and CSS, no scripts, no network) per run.

It puts the verdict first, then what was run, then one time axis shared by the operations
timeline and the latency plot, with fault windows shaded on both, so a failure can be read
against what the nemesis was doing at that moment. Every value from the history is escaped.
"""

from __future__ import annotations

import html
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checkers.history import Event, read_history
from harness.store import read_results

WIDTH, ROW, MARGIN = 1000, 14, 60
MAX_BARS = 4000  # beyond this the timeline is sampled, so the file stays small
COLORS = {"ok": "#3a9a4a", "fail": "#d08a1e", "info": "#8a5cc2"}
STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
.banner{padding:1em;font-size:1.6em;font-weight:bold;color:#fff;border-radius:6px}
.valid{background:#2e7d32}.invalid{background:#c62828}.unknown{background:#616161}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
pre{background:#f4f4f4;padding:1em;overflow:auto;max-height:30em}
svg text{font-size:11px;fill:#333}.fault{fill:#e53935;fill-opacity:.12}
"""


@dataclass
class Span:
    process: int | str
    f: str
    key: Any
    start: int
    end: int | None
    type: str
    value: Any


def spans(events: list[Event]) -> list[Span]:
    """Pair client invocations with completions; an unfinished op ends with the history."""
    open_ops: dict[Any, Event] = {}
    out = []
    for e in events:
        if not e.is_client:
            continue
        if e.type == "invoke":
            open_ops[e.process] = e
        elif e.process in open_ops:
            inv = open_ops.pop(e.process)
            out.append(Span(e.process, e.f, e.key, inv.time, e.time, e.type, e.value))
    out += [Span(i.process, i.f, i.key, i.time, None, "info", i.value) for i in open_ops.values()]
    return out


def fault_windows(events: list[Event]) -> list[tuple[int, int | None, str]]:
    """(start, end, label) of each fault, from the nemesis's start-/stop- events."""
    windows: list[tuple[int, int | None, str]] = []
    current: tuple[int, str] | None = None
    for e in events:
        if e.is_client or e.type != "info":
            continue
        if e.f.startswith("start-"):
            v = e.value if isinstance(e.value, dict) else {}
            label = e.f[6:] + " " + " | ".join(" ".join(c) for c in v.get("components", []))
            current = (e.time, label)
        elif e.f.startswith("stop-") and current is not None:
            windows.append((current[0], e.time, current[1]))
            current = None
    if current is not None:
        windows.append((current[0], None, current[1]))
    return windows


def _x(t: int, end: int) -> float:
    return MARGIN + (WIDTH - MARGIN - 10) * t / max(end, 1)


def _shade(windows: list[tuple[int, int | None, str]], end: int, height: int) -> str:
    out = []
    for start, stop, label in windows:
        x0, x1 = _x(start, end), _x(stop if stop is not None else end, end)
        out.append(f'<rect class="fault" x="{x0:.1f}" y="0" width="{max(x1 - x0, 1):.1f}" height="{height}">'
                   f"<title>{html.escape(label)}</title></rect>")
    return "".join(out)


def _axis(end: int, y: int) -> str:
    ticks = []
    step = max(1, round(end / 1e9 / 10))
    for s in range(0, int(end / 1e9) + 1, step):
        x = _x(int(s * 1e9), end)
        ticks.append(f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{y}" stroke="#eee"/>'
                     f'<text x="{x:.1f}" y="{y + 12}" text-anchor="middle">{s}s</text>')
    return "".join(ticks)


def timeline_svg(ops: list[Span], windows: list, end: int, concurrency: int) -> str:
    """Operations as bars, one row per worker (a retired process keeps its worker's row)."""
    sample = ops if len(ops) <= MAX_BARS else random.Random(0).sample(ops, MAX_BARS)
    rows = max(concurrency, 1)
    height = rows * ROW + 10
    bars = []
    for s in sample:
        row = s.process % rows if isinstance(s.process, int) else 0
        x0, x1 = _x(s.start, end), _x(s.end if s.end is not None else end, end)
        tip = html.escape(f"process {s.process} {s.f} {s.key} {json.dumps(s.value)} → {s.type}")
        bars.append(f'<rect x="{x0:.1f}" y="{row * ROW + 2}" width="{max(x1 - x0, 1.5):.1f}" height="{ROW - 4}" '
                    f'fill="{COLORS[s.type]}"><title>{tip}</title></rect>')
    labels = "".join(f'<text x="4" y="{r * ROW + ROW - 3}">worker {r}</text>' for r in range(rows))
    return (f'<svg width="{WIDTH}" height="{height + 16}" xmlns="http://www.w3.org/2000/svg">'
            f"{_axis(end, height)}{_shade(windows, end, height)}{labels}{''.join(bars)}</svg>")


def latency_svg(ops: list[Span], windows: list, end: int) -> str:
    """Latency of completed ops against their start time, log-scaled, coloured by outcome."""
    import math

    done = [s for s in ops if s.end is not None]
    sample = done if len(done) <= MAX_BARS else random.Random(1).sample(done, MAX_BARS)
    height = 200
    top = max((s.end - s.start for s in done), default=1)
    span = math.log10(max(top, 10_000)) - 4  # from 10 µs up
    dots = []
    for s in sample:
        lat = max(s.end - s.start, 10_000)
        y = height - height * (math.log10(lat) - 4) / max(span, 1e-9)
        dots.append(f'<circle cx="{_x(s.start, end):.1f}" cy="{y:.1f}" r="1.6" fill="{COLORS[s.type]}"/>')
    top_label = f"{top / 1e6:.0f} ms"
    return (f'<svg width="{WIDTH}" height="{height + 16}" xmlns="http://www.w3.org/2000/svg">'
            f"{_axis(end, height)}{_shade(windows, end, height)}"
            f'<text x="4" y="12">{top_label}</text><text x="4" y="{height}">0.01 ms</text>{"".join(dots)}</svg>')


def render(results: dict[str, Any], events: list[Event], node_logs: list[str]) -> str:
    valid = results.get("valid")
    word = {True: "valid", False: "invalid"}.get(valid, "unknown")
    ops = spans(events)
    end = max((e.time for e in events), default=1)
    windows = fault_windows(events)
    e = html.escape
    config_rows = "".join(f"<tr><th>{e(str(k))}</th><td>{e(json.dumps(v, default=str))}</td></tr>"
                          for k, v in results.get("config", {}).items())
    count_rows = "".join(f"<tr><td>{e(f)}</td><td>{c['ok']}</td><td>{c['fail']}</td><td>{c['info']}</td></tr>"
                         for f, c in sorted(results.get("counts", {}).items()))
    timing_rows = "".join(f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>"
                          for k, v in results.get("timings", {}).items())
    problems = "".join(f"<li>{e(p)}</li>" for p in results.get("problems", []))
    logs = "".join(f'<li><a href="{e(p)}">{e(p)}</a></li>' for p in node_logs)
    checkers = e(json.dumps(results.get("checkers", {}), indent=2, default=str))
    concurrency = int(results.get("config", {}).get("concurrency", 1) or 1)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(results.get('test_name', 'run'))}: {word}</title>
<style>{STYLE}</style></head><body>
<div class="banner {word}">{word.upper()} — {e(str(results.get('test_name', '')))}
 · seed {e(str(results.get('seed')))}</div>
{f'<h2>Problems</h2><ul>{problems}</ul>' if problems else ''}
<h2>Operations</h2>
<table><tr><th>f</th><th>ok</th><th>fail</th><th>info</th></tr>{count_rows}</table>
<h2>Timeline</h2><p>Bars are operations (green ok, orange fail, purple info); red shading marks faults.</p>
{timeline_svg(ops, windows, end, concurrency)}
<h2>Latency</h2>{latency_svg(ops, windows, end)}
<h2>Checkers</h2><pre>{checkers}</pre>
<h2>Configuration</h2><table>{config_rows}</table>
<h2>Timings</h2><table>{timing_rows}</table>
<h2>Node logs</h2><ul>{logs}</ul>
</body></html>
"""


def write_report(run_dir: Path) -> Path:
    """Render run_dir/report.html from its results.json and history.jsonl."""
    results = read_results(run_dir)
    events = read_history(run_dir / "history.jsonl")
    logs = sorted(str(p.relative_to(run_dir)) for p in (run_dir / "nodes").rglob("*") if p.is_file()) \
        if (run_dir / "nodes").is_dir() else []
    out = run_dir / "report.html"
    out.write_text(render(results, events, logs), encoding="utf-8")
    return out
