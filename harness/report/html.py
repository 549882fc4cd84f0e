"""report.html: one self-contained page per run (inline SVG, CSS and a few lines of script; no network).

Order follows the questions a reader asks: what is the verdict and why (banner), what was
run and how it went (counts, faults), what happened over time (every plot on one time axis,
fault windows shaded), what each checker found (with the counterexample drawn), and where
to dig further (configuration, versions, logs). Every value that comes from the history or
the results is HTML-escaped: a history may hold anything a client or a system returned.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import quote

from checkers.history import Event, read_history
from harness.report import plots
from harness.report.counterexample import counterexample_html
from harness.report.data import (
    OUTCOMES,
    Fault,
    Span,
    aggregate,
    clock_offsets,
    counts,
    fault_windows,
    spans,
    summarise_faults,
)
from harness.report.txn import txn_html
from harness.store import HARNESS_LOG, HISTORY, HISTORY_EDN, REPORT, RESULTS, read_results

MAX_RAW = 60_000  # characters of a checker's raw JSON shown; a huge result must not bloat the page
esc = html.escape


def verdict_word(valid: Any) -> str:
    return {True: "valid", False: "invalid"}.get(valid, "unknown")


def _why(results: dict[str, Any], ops: list[Span], n_faults: int) -> str:
    """One sentence under the verdict: the reason, in the checker's words where it has them."""
    checkers = results.get("checkers") or {}
    valid = results.get("valid")
    if valid is False:
        for name, r in checkers.items():
            if isinstance(r, dict) and r.get("valid") is False:
                cex = r.get("counterexample")
                msg = cex.get("message") if isinstance(cex, dict) else None
                return f"{name}: {msg}" if msg else f"{name} found the history invalid"
        return "a checker found the history invalid"
    if valid is True:
        names = ", ".join(checkers) or "no checker"
        return f"{len(ops)} operations and {n_faults} faults; {names} found nothing wrong"
    reasons = list(results.get("problems") or [])
    reasons += [f"{n}: {r.get('reason')}" for n, r in checkers.items()
                if isinstance(r, dict) and r.get("valid") == "unknown" and r.get("reason")]
    if results.get("interrupted"):
        reasons.insert(0, "the run was interrupted")
    return "; ".join(map(str, reasons)) or "the checkers could not decide"


def _table(rows: dict[str, Any]) -> str:
    if not rows:
        return '<p class="small">not recorded</p>'
    return "<table>" + "".join(
        f"<tr><th>{esc(str(k))}</th><td>{esc(v if isinstance(v, str) else json.dumps(v, default=str))}</td></tr>"
        for k, v in rows.items()) + "</table>"


def _counts_table(ops: list[Span]) -> str:
    c = counts(ops)
    total = {t: sum(row[t] for row in c.values()) for t in OUTCOMES}
    rows = "".join(f"<tr><td>{esc(f)}</td>" + "".join(f'<td class="n">{row[t]}</td>' for t in OUTCOMES) + "</tr>"
                   for f, row in sorted(c.items()))
    return (f"<table><tr><th>operation</th><th>ok</th><th>fail</th><th>info</th></tr>{rows}"
            f"<tr><th>all</th>" + "".join(f'<th class="n">{total[t]}</th>' for t in OUTCOMES) + "</tr></table>"
            '<p class="small">fail: certainly did not happen; info: may or may not have happened.</p>')


def _fault_table(events: list[Event]) -> str:
    summary = summarise_faults(events)
    if not summary:
        return "<p>No faults were injected.</p>"
    rows = "".join(f"<tr><td>{esc(k)}</td><td class='n'>{s['injected']}</td><td class='n'>{s['healed']}</td>"
                   f"<td class='n'>{s['failed']}</td><td class='n'>{s['seconds']:.1f}</td>"
                   f"<td>{esc(' '.join(s['nodes']))}</td></tr>" for k, s in summary.items())
    return ("<table><tr><th>nemesis</th><th>injected</th><th>healed</th><th>failed</th><th>seconds</th>"
            f"<th>nodes</th></tr>{rows}</table>")


def _plot(title: str, note: str, svg: str) -> str:
    return f'<div class="plot"><h3>{title}</h3><p class="small">{note}</p>{svg}</div>'


def _plots(ops: list[Span], events: list[Event], faults: list[Fault]) -> str:
    end = max((e.time for e in events), default=1)
    axis = plots.Axis(max(end, 1))
    agg = aggregate(ops, axis.end)
    rows = "One row per client process (a process retired after an info op hands its row on). " + (
        "Aggregated: each cell is split by the share of ok, fail and info ops that started in it."
        if len(ops) > plots.MAX_BARS else "Hover a bar for the operation.")
    out = [
        _plot("Faults", "What the nemesis did to which nodes; the lighter part is the fault being set up.",
              plots.faults_svg(axis, faults)),
        _plot("Operations", rows, plots.timeline_svg(axis, ops, faults, agg)),
        _plot("Latency", "Each dot one operation, by its start time; lines are quantiles of ok ops per time bucket.",
              plots.latency_svg(axis, ops, faults, agg)),
        _plot("Throughput", "Completions per second, stacked by outcome.", plots.throughput_svg(axis, faults, agg)),
    ]
    offsets = clock_offsets(events)
    if offsets:
        out.append(_plot("Clock offsets", "Each node's clock relative to the harness, as the nemesis set it.",
                         plots.clock_svg(axis, faults, offsets)))
    return "".join(out)


def _checkers(results: dict[str, Any], ops: list[Span], events: list[Event]) -> str:
    out = []
    for name, r in (results.get("checkers") or {}).items():
        if not isinstance(r, dict):
            out.append(f"<h3>{esc(str(name))}</h3><pre>{esc(json.dumps(r, default=str))}</pre>")
            continue
        word = verdict_word(r.get("valid"))
        brief = {k: v for k, v in r.items() if isinstance(v, str | int | float | bool) and k != "valid"}
        for k in ("unknown_keys", "finished_keys"):
            if isinstance(r.get(k), list) and r[k]:
                brief[k] = r[k] if len(r[k]) <= 10 else [*r[k][:10], f"… {len(r[k]) - 10} more"]
        failures = r.get("failures") or ([r["counterexample"]] if r.get("counterexample") else [])
        raw = json.dumps(r, indent=1, default=str)
        if len(raw) > MAX_RAW:
            raw = raw[:MAX_RAW] + f"\n… {len(raw) - MAX_RAW} more characters in results.json"
        out.append(f'<h3>{esc(str(name))} <span class="badge {word}">{word}</span></h3>{_table(brief)}'
                   + "".join(counterexample_html(c, r, ops, events) for c in failures) + txn_html(r)
                   + f"<details><summary>Full result</summary><pre>{esc(raw)}</pre></details>")
    return "".join(out) or "<p>No checker ran.</p>"


def _links(run_dir: Path) -> str:
    names = [n for n in (HISTORY, HISTORY_EDN, RESULTS, HARNESS_LOG) if (run_dir / n).exists()]
    nodes = sorted(str(p.relative_to(run_dir)) for p in (run_dir / "nodes").rglob("*") if p.is_file()) \
        if (run_dir / "nodes").is_dir() else []
    items = "".join(f'<li><a href="{esc(quote(n))}">{esc(n)}</a></li>' for n in names + nodes)
    return f"<ul>{items}</ul>" if items else "<p>No logs were saved.</p>"


def render(results: dict[str, Any], events: list[Event], run_dir: Path) -> str:
    """The page for one run, as a string."""
    ops = spans(events)
    word = verdict_word(results.get("valid"))
    faults = fault_windows(events)
    name = str(results.get("test_name", "run"))
    config = results.get("config") or {}
    nemesis = config.get("nemesis")
    facts = [name] + ([f"seed {results['seed']}"] if results.get("seed") is not None else [])
    if nemesis is not None:
        facts.append(f"nemesis {', '.join(nemesis) if isinstance(nemesis, list) else nemesis}")
    facts.append(run_dir.resolve().name)  # the timestamp, also when opened through a `latest` link
    banner = (f'<div class="banner {word}"><span class="word">{word.upper()}</span>{esc(" · ".join(map(str, facts)))}'
              f'<div class="why">{esc(_why(results, ops, len(faults)))}</div></div>')
    problems = results.get("problems") or []
    template = Template(resources.files("harness.report").joinpath("page.html").read_text(encoding="utf-8"))
    return template.substitute(
        title=esc(f"{name}: {word}"),
        banner=banner,
        problems=('<div class="problems"><b>Problems</b><ul>' + "".join(f"<li>{esc(str(p))}</li>" for p in problems)
                  + "</ul></div>") if problems else "",
        counts=_counts_table(ops),
        fault_table=_fault_table(events),
        plots=_plots(ops, events, faults),
        checkers=_checkers(results, ops, events),
        config=_table({"seed": results.get("seed"), "run id": results.get("run_id"), **config}),
        versions=_table(results.get("versions") or {}),
        timings=_table(results.get("timings") or {}),
        logs=_links(run_dir),
    )


def write_report(run_dir: Path) -> Path:
    """Render run_dir/report.html from its results.json and history.jsonl."""
    results = read_results(run_dir)
    events = read_history(run_dir / HISTORY)
    out = run_dir / REPORT
    tmp = out.with_suffix(".tmp")
    # A history may hold lone surrogates ("\ud800" is valid JSON): write them escaped, not crash.
    tmp.write_text(render(results, events, run_dir), encoding="utf-8", errors="backslashreplace")
    tmp.replace(out)
    return out
