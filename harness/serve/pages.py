"""The pages `harness serve` generates: the index of runs with filters, a trend page per test, the
diff of two runs, and the list of one run's files.

Every page is self-contained HTML (inline CSS and SVG, no network). The same functions write the
live pages and the static ones (`harness serve --static`); only the links differ, and a `Links`
object makes them. Every value shown comes from files in the results folder and is escaped.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from harness.serve import charts
from harness.serve.catalog import VERDICTS, Filters, RunSummary, latency_ms

esc = html.escape
TREND_FILTERS = ("db", "workload", "nemesis", "since", "until")
STYLE = """body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em 2em;color:#222;max-width:1240px}
h1{font-size:1.4em}h2{margin:1.4em 0 .4em;border-bottom:1px solid #ddd;padding-bottom:.15em;font-size:1.2em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left;
vertical-align:top}td.n{text-align:right;font-variant-numeric:tabular-nums}
.verdict{font-weight:bold}.valid{color:#2e7d32}.invalid{color:#c62828}.unknown{color:#5f6368}.broken{color:#000}
tr.broken td{background:#fff4e5}tr.differs th,tr.differs td{background:#fff8d6}
.small{font-size:.85em;color:#555}.errors{color:#c62828}
form.filters{display:flex;gap:.8em;flex-wrap:wrap;align-items:end;margin:.5em 0 1em}
form.filters label{display:flex;flex-direction:column;font-size:.85em}
nav a{margin-right:1em}pre{margin:0;white-space:pre-wrap;word-break:break-all;max-width:40em}
svg{display:block;overflow:visible;margin:.2em 0 .8em}
svg text{font-size:11px;fill:#333;font-family:system-ui,sans-serif}svg .grid{stroke:#eee}"""

# In static output the index filters itself in the browser (there is no server to ask):
# the same query parameters as the live server, matched against each row's data-* attributes.
FILTER_SCRIPT = """<script>
(function () {
  var q = new URLSearchParams(location.search), shown = 0;
  ["test", "db", "workload", "nemesis", "verdict", "since", "until"].forEach(function (k) {
    var field = document.querySelector('form.filters [name="' + k + '"]');
    if (field && q.get(k)) { field.value = q.get(k); }
  });
  document.querySelectorAll("tr.run").forEach(function (row) {
    var d = row.dataset, ok = true;
    ["test", "db", "workload", "verdict"].forEach(function (k) { if (q.get(k) && d[k] !== q.get(k)) { ok = false; } });
    var n = q.get("nemesis"), kinds = d.nemesis ? d.nemesis.split(" ") : [];
    if (n && (n === "none" ? kinds.length > 0 : kinds.indexOf(n) < 0)) { ok = false; }
    if (q.get("since") && d.date < q.get("since")) { ok = false; }
    if (q.get("until") && d.date > q.get("until")) { ok = false; }
    row.hidden = !ok;
    if (ok) { shown += 1; }
  });
  document.getElementById("count").textContent = shown;
  document.body.dataset.ready = "yes";
})();
</script>"""


class Links:
    """Where the pages point: the live server's routes, or paths inside a static site.

    `prefix` leads from the current page back to the site's root ("" or "../" for static pages).
    """

    def __init__(self, static: bool = False, prefix: str = "/", diffs: set[tuple[str, str]] | None = None) -> None:
        self.static = static
        self.prefix = prefix
        self.diffs = diffs  # static sites hold only these diffs (consecutive runs of a test)

    def at(self, prefix: str) -> Links:
        return Links(self.static, prefix, self.diffs)

    def index(self, **query: str) -> str:
        page = "index.html" if self.static else ""
        query = {k: v for k, v in query.items() if v}
        return self.prefix + page + ("?" + urlencode(query) if query else "")

    def trend(self, test: str, narrow: Filters | None = None) -> str:
        """A test's trend; live, narrowed by the index's filters other than test and verdict
        (a trend of only the failures would hide what changed)."""
        if self.static:
            return f"{self.prefix}trend/{slug(test)}.html"
        query = {"test": test}
        if narrow is not None:
            query |= {k: narrow.value(k) for k in TREND_FILTERS if narrow.value(k)}
        return f"{self.prefix}trend?{urlencode(query)}"

    def diff(self, a: RunSummary, b: RunSummary) -> str | None:
        if self.static:
            if self.diffs is None or (a.rel, b.rel) not in self.diffs:
                return None
            return f"{self.prefix}{diff_path(a, b)}"
        return f"{self.prefix}diff?{urlencode({'a': a.rel, 'b': b.rel})}"

    def report(self, run: RunSummary) -> str | None:
        if not run.has_report:
            return None
        if self.static:
            return f"{self.prefix}{run_path(run)}/report.html"
        return f"{self.prefix}{quote(run.rel)}/report.html"

    def files(self, run: RunSummary) -> str | None:
        if self.static:
            return f"{self.prefix}{run_path(run)}/results.json" if not run.broken else None
        return f"{self.prefix}{quote(run.rel)}/"


def slug(name: str) -> str:
    """A file name for a test or run name: itself when plainly safe, else a stable stand-in."""
    if re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,100}", name):
        return name
    return "_" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def run_path(run: RunSummary) -> str:
    test, _, stamp = run.rel.partition("/")
    return f"runs/{slug(test)}/{slug(stamp)}"


def diff_path(a: RunSummary, b: RunSummary) -> str:
    return f"diff/{slug(b.test)}/{slug(a.stamp)}--{slug(b.stamp)}.html"


def page(title: str, body: str, links: Links, script: str = "") -> str:
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{esc(title)}</title>'
            f'<style>{STYLE}</style></head><body><nav><a href="{esc(links.index())}">all runs</a></nav>'
            f"{body}{script}</body></html>")


def _nemesis_text(run: RunSummary) -> str:
    if run.nemesis is None:
        return "?"
    return ", ".join(run.nemesis) or "none"


def _link(href: str | None, text: str) -> str:
    return f'<a href="{esc(href)}">{esc(text)}</a>' if href else ""


def _choices(name: str, values: Iterable[str], current: str, label: str = "") -> str:
    options = ['<option value="">any</option>'] + [
        f'<option value="{esc(v)}"{" selected" if v == current else ""}>{esc(v)}</option>'
        for v in sorted(set(values))]
    return f'<label>{label or name}<select name="{name}">{"".join(options)}</select></label>'


def _filter_form(runs: Sequence[RunSummary], f: Filters, links: Links) -> str:
    fields = [
        _choices("test", (r.test for r in runs), f.test),
        _choices("db", (r.db for r in runs if r.db), f.db, "system"),
        _choices("workload", (r.workload for r in runs if r.workload), f.workload),
        _choices("nemesis", [n for r in runs for n in (r.nemesis or ())] + ["none"], f.nemesis),
        _choices("verdict", VERDICTS, f.verdict),
        f'<label>since<input type="date" name="since" value="{esc(f.value("since"))}"></label>',
        f'<label>until<input type="date" name="until" value="{esc(f.value("until"))}"></label>',
    ]
    return (f'<form class="filters" method="get" action="{esc(links.index())}">{"".join(fields)}'
            f'<button type="submit">filter</button> <a href="{esc(links.index())}">clear</a></form>')


def _row(run: RunSummary, previous: RunSummary | None, links: Links, compare: bool, filters: Filters) -> str:
    data = {"test": run.test, "db": run.db or "", "workload": run.workload or "",
            "nemesis": " ".join(run.nemesis or ()), "verdict": run.verdict, "date": run.when.date().isoformat()}
    attrs = "".join(f' data-{k}="{esc(v)}"' for k, v in data.items())
    verdict = run.verdict + (f": {run.broken}" if run.broken else "")
    actions = [_link(links.report(run), "report") or ("" if run.broken else "no report"),
               _link(links.files(run), "results.json" if links.static else "files"),
               _link(links.diff(previous, run), "diff with previous") if previous else ""]
    radios = (f'<td><input type="radio" name="a" value="{esc(run.rel)}" aria-label="compare from">'
              f'<input type="radio" name="b" value="{esc(run.rel)}" aria-label="compare to"></td>') if compare else ""
    cls = "run broken" if run.broken else "run"
    return (f'<tr class="{cls}"{attrs}>{radios}<td class="verdict {run.verdict}">{esc(verdict)}</td>'
            f'<td><a href="{esc(links.trend(run.test, filters))}">{esc(run.test)}</a></td><td>{esc(run.db or "?")}</td>'
            f"<td>{esc(run.workload or '?')}</td><td>{esc(_nemesis_text(run))}</td>"
            f"<td>{esc(run.when.strftime('%Y-%m-%d %H:%M:%S'))}</td>"
            f'<td class="n">{"" if run.ops is None else run.ops}</td><td>{esc(run.seed or "")}</td>'
            f'<td>{" · ".join(a for a in actions if a)}</td></tr>')


def previous_of(runs: Sequence[RunSummary]) -> dict[str, RunSummary]:
    """For each run (by rel), the run of the same test just before it: what "diff with previous" compares."""
    out: dict[str, RunSummary] = {}
    last: dict[str, RunSummary] = {}
    for run in sorted(runs, key=lambda r: (r.when, r.stamp)):
        if run.test in last:
            out[run.rel] = last[run.test]
        last[run.test] = run
    return out


def index_html(root: Path, runs: Sequence[RunSummary], filters: Filters, links: Links) -> str:
    """Every run matching the filters, newest first, with links to its report, files, trend and diff.

    Live, the server filters; in a static site all rows are written and the page's script hides
    those the query does not match.
    """
    previous = previous_of(runs)
    shown = runs if links.static else [r for r in runs if filters.matches(r)]
    compare = not links.static and len(shown) > 1
    rows = "".join(_row(r, previous.get(r.rel), links, compare, filters) for r in shown)
    errors = "".join(f'<p class="errors">ignored: {esc(e)}</p>' for e in filters.errors)
    head = ("<th>a b</th>" if compare else "") + "".join(
        f"<th>{h}</th>" for h in ("verdict", "test", "system", "workload", "nemesis", "started", "ops", "seed", ""))
    table = f"<table><tr>{head}</tr>{rows}</table>"
    if compare:
        table = (f'<form method="get" action="{esc(links.prefix)}diff">{table}'
                 '<button type="submit">diff the runs marked a and b</button></form>')
    broken = sum(r.verdict == "broken" for r in runs)
    note = f' <span class="broken">({broken} broken)</span>' if broken else ""
    tests = " ".join(f'<a href="{esc(links.trend(t, filters))}">{esc(t)}</a>' for t in sorted({r.test for r in runs}))
    body = (f"<h1>Runs in {esc(str(root))}</h1>{_filter_form(runs, filters, links)}{errors}"
            f'<p><span id="count">{len(shown)}</span> of {len(runs)} runs shown{note}. Trends: {tests or "none"}</p>'
            + (table if runs else "<p>No runs yet.</p>"))
    return page("harness runs", body, links, FILTER_SCRIPT if links.static else "")


def _fmt(v: float | None, unit: str = "") -> str:
    return "" if v is None else f"{v:.4g}{unit}"


def trend_html(root: Path, test: str, runs: Sequence[RunSummary], links: Links, narrow: Filters | None = None) -> str:
    """Verdicts, throughput, latency and faults of one test's runs, oldest to newest; `narrow`
    keeps only the runs matching its system, workload, nemesis and dates."""
    keep = Filters(**{k: getattr(narrow, k) for k in TREND_FILTERS}) if narrow is not None else Filters()
    mine = sorted((r for r in runs if r.test == test and keep.matches(r)), key=lambda r: (r.when, r.stamp))
    shown_filters = ", ".join(f"{k} {keep.value(k)}" for k in TREND_FILTERS if keep.value(k))
    if shown_filters:
        shown_filters = (f'<p class="small">Only runs with {esc(shown_filters)}; '
                         f'<a href="{esc(links.trend(test))}">all runs of {esc(test)}</a>.</p>')
    if not mine:
        return page(f"{test}: no runs", f"<h1>No runs of {esc(test)}</h1>{shown_filters}", links)
    axis = charts.RunAxis(len(mine))
    latency = [latency_ms(root, r) for r in mine]
    previous = previous_of(mine)
    counts = {v: sum(r.verdict == v for r in mine) for v in VERDICTS}
    rows = "".join(
        f'<tr{" class=broken" if r.broken else ""}><td class="verdict {r.verdict}">{esc(r.verdict)}</td>'
        f"<td>{esc(r.when.strftime('%Y-%m-%d %H:%M:%S'))}</td><td>{esc(r.seed or '')}</td>"
        f'<td class="n">{_fmt(r.ops_per_s)}</td><td class="n">{_fmt(lat[0])}</td><td class="n">{_fmt(lat[1])}</td>'
        f'<td>{esc(", ".join(f"{k} {n}" for k, n in sorted(r.faults.items())))}</td>'
        f"<td>{_link(links.report(r), 'report')} "
        f"{_link(links.diff(previous[r.rel], r), 'diff with previous') if r.rel in previous else ''}</td></tr>"
        for r, lat in reversed(list(zip(mine, latency, strict=True))))
    body = (
        f"<h1>Trend of {esc(test)}</h1>{shown_filters}"
        f"<p>{len(mine)} runs: " + ", ".join(f'<span class="{v}">{n} {v}</span>' for v, n in counts.items() if n)
        + ". Oldest on the left; hover a mark for its run, click a verdict for its report.</p>"
        "<h2>Verdicts</h2>" + charts.verdict_strip(axis, mine, [links.report(r) for r in mine])
        + "<h2>Throughput</h2>" + charts.line_chart(axis, mine, {"ops/s": [r.ops_per_s for r in mine]}, "/s",
                                                    "throughput")
        + '<h2>Latency of ok operations</h2>'
        + charts.line_chart(axis, mine, {"p50": [p for p, _ in latency], "p99": [p for _, p in latency]}, "ms",
                            "latency")
        + "<h2>Faults injected</h2>" + charts.fault_bars(axis, mine)
        + "<h2>Runs</h2><table><tr><th>verdict</th><th>started</th><th>seed</th><th>ops/s</th><th>p50 ms</th>"
        f"<th>p99 ms</th><th>faults</th><th></th></tr>{rows}</table>")
    return page(f"{test}: trend", body, links)


def _show(v: Any) -> str:
    if v is None:
        return ""
    return v if isinstance(v, str) else json.dumps(v, sort_keys=True, default=str)


def _compare(title: str, rows: dict[str, tuple[Any, Any]]) -> str:
    if not rows:
        return f"<h2>{esc(title)}</h2><p class='small'>not recorded in either run</p>"
    out = []
    for name, (a, b) in rows.items():
        sa, sb = _show(a), _show(b)
        out.append(f'<tr{" class=differs" if sa != sb else ""}><th>{esc(name)}</th>'
                   f"<td><pre>{esc(sa)}</pre></td><td><pre>{esc(sb)}</pre></td></tr>")
    return f"<h2>{esc(title)}</h2><table><tr><th></th><th>a</th><th>b</th></tr>{''.join(out)}</table>"


def _dict(v: Any) -> dict[str, Any]:
    return {str(k): x for k, x in v.items()} if isinstance(v, dict) else {}


def _pairs(a: dict[str, Any], b: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {k: (a.get(k), b.get(k)) for k in dict.fromkeys([*a, *b])}


def anomalies(result: Any) -> list[str]:
    """What a checker found, in its own words: counterexample messages, anomaly names, a reason."""
    if not isinstance(result, dict):
        return []
    found = []
    cases = result.get("failures") if isinstance(result.get("failures"), list) else [result.get("counterexample")]
    for case in cases:
        if isinstance(case, dict) and case.get("message"):
            found.append(str(case["message"]))
    for key in ("anomaly_types", "anomalies"):
        v = result.get(key)
        if isinstance(v, list | dict):  # a dict's keys name the anomalies
            found.extend(str(x) for x in v)
    if result.get("reason"):
        found.append(f"reason: {result['reason']}")
    return found


def diff_html(root: Path, a: RunSummary, b: RunSummary, links: Links) -> str:
    """Two runs side by side; rows that differ are marked."""
    la, lb = latency_ms(root, a), latency_ms(root, b)
    summary = {
        "verdict": tuple(r.verdict + (f": {r.broken}" if r.broken else "") for r in (a, b)),
        "test": (a.test, b.test), "started": (f"{a.when:%Y-%m-%d %H:%M:%S}", f"{b.when:%Y-%m-%d %H:%M:%S}"),
        "folder": (a.rel, b.rel), "seed": (a.seed, b.seed), "run id": (a.run_id, b.run_id),
        "system": (a.db, b.db), "workload": (a.workload, b.workload),
        "nemesis": (_nemesis_text(a), _nemesis_text(b)), "operations": (a.ops, b.ops),
        "ops/s": (a.ops_per_s, b.ops_per_s), "p50 ms": (la[0], lb[0]), "p99 ms": (la[1], lb[1]),
        "problems": (a.results.get("problems") or None, b.results.get("problems") or None),
    }
    ca, cb = _dict(a.results.get("checkers")), _dict(b.results.get("checkers"))
    checkers = {}
    for name in dict.fromkeys([*ca, *cb]):
        ra, rb = ca.get(name), cb.get(name)
        checkers[f"{name}: verdict"] = (_verdict(ra), _verdict(rb))
        checkers[f"{name}: anomalies"] = ("\n".join(anomalies(ra)) or None, "\n".join(anomalies(rb)) or None)
    fa, fb = _dict(a.results.get("faults")), _dict(b.results.get("faults"))
    faults = {k: (_fault_text(fa.get(k)), _fault_text(fb.get(k))) for k in dict.fromkeys([*fa, *fb])}
    counts = _pairs(_dict(a.results.get("counts")), _dict(b.results.get("counts")))
    heading = (f"<h1>{esc(a.test)} {esc(a.stamp)} → {esc(b.test)} {esc(b.stamp)}</h1>"
               f"<p>a: {_link(links.report(a), 'report')} {_link(links.files(a), 'files')} · "
               f"b: {_link(links.report(b), 'report')} {_link(links.files(b), 'files')} · "
               f'<a href="{esc(links.trend(b.test))}">trend of {esc(b.test)}</a></p>')
    body = (heading + _compare("Summary", summary) + _compare("Checkers and anomalies", checkers)
            + _compare("Faults", faults) + _compare("Operations by outcome", counts)
            + _compare("Timings", _pairs(_dict(a.results.get("timings")), _dict(b.results.get("timings"))))
            + _compare("Configuration", _pairs(_dict(a.results.get("config")), _dict(b.results.get("config"))))
            + _compare("Versions", _pairs(_dict(a.results.get("versions")), _dict(b.results.get("versions")))))
    return page(f"diff {a.rel} → {b.rel}", body, links)


def _verdict(result: Any) -> str | None:
    if not isinstance(result, dict):
        return None
    return "valid" if result.get("valid") is True else "invalid" if result.get("valid") is False else "unknown"


def _fault_text(s: Any) -> str | None:
    if not isinstance(s, dict):
        return None if s is None else _show(s)
    return ", ".join(f"{k} {_show(s[k])}" for k in ("injected", "healed", "failed", "seconds") if k in s)


def files_html(run_rel: str, names: Sequence[str], links: Links) -> str:
    """A run's files, for browsing its logs; only regular files inside the results root are listed."""
    items = "".join(f'<li><a href="{esc(quote(n))}">{esc(n)}</a></li>' for n in names)
    return page(f"{run_rel}: files", f"<h1>Files of {esc(run_rel)}</h1><ul>{items}</ul>", links)
