"""`harness serve --static OUT`: the served pages written as files, for a CI artifact or Pages.

OUT gets index.html (all runs; its filters run in the browser), trend/<test>.html, one diff page
per pair of consecutive runs of a test (diff/<test>/<a>--<b>.html), and each run's report.html
and results.json under runs/<test>/<stamp>/ so every link works from the artifact alone. Histories
and node logs are left out: they are what makes a results folder large.
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import UsageError
from harness.serve import pages
from harness.serve.catalog import Filters, catalog, read_regular
from harness.store import REPORT, RESULTS

MARKER = ".harness-static"  # says OUT was written by us, so writing it again may overwrite files
MAX_COPY_BYTES = 256 * 2**20


def _check_out(root: Path, out: Path) -> None:
    real = out.resolve()
    if real == root or root in real.parents:  # it would be listed, or pruned, as part of the results
        raise UsageError(f"--static {out}: must be outside the results folder {root}")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--static {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise UsageError(f"--static {out}: folder is not empty and was not written by harness serve --static")


def _write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    if isinstance(text, str):
        tmp.write_text(text, encoding="utf-8", errors="replace")
    else:
        tmp.write_bytes(text)
    tmp.replace(path)


def write_static(root: Path, out: Path) -> int:
    """Write the site for the results folder `root` into `out`; returns the number of pages written."""
    root = root.resolve()
    if not root.is_dir():
        raise UsageError(f"{root}: no such results folder")
    _check_out(root, out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by harness serve --static\n")
    runs = catalog(root)
    previous = pages.previous_of(runs)
    diffs = {(previous[r.rel].rel, r.rel) for r in runs if r.rel in previous}
    links = pages.Links(static=True, prefix="", diffs=diffs)
    by_rel = {r.rel: r for r in runs}
    written = 0
    for run in runs:
        for name in (REPORT,) if run.broken else (REPORT, RESULTS):  # a broken one is not linked
            try:
                data = read_regular(root, run.path / name, MAX_COPY_BYTES)
            except OSError:
                continue  # no report yet, or a broken results.json: the index says so
            _write(out / pages.run_path(run) / name, data)
    _write(out / "index.html", pages.index_html(root, runs, Filters(), links))
    written += 1
    for test in sorted({r.test for r in runs}):
        _write(out / "trend" / f"{pages.slug(test)}.html", pages.trend_html(root, test, runs, links.at("../")))
        written += 1
    for a, b in sorted(diffs):
        _write(out / pages.diff_path(by_rel[a], by_rel[b]),
               pages.diff_html(root, by_rel[a], by_rel[b], links.at("../../")))
        written += 1
    return written
