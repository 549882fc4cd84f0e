"""The pages of `harness serve`: a broken run never hides the others, filters pick the right runs,
trend and diff pages show what the runs recorded (and gaps where they did not), every value is
escaped, and the static site's links all lead somewhere."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serve_fixtures import fake_run, get, serving

from harness.errors import UsageError
from harness.serve import pages
from harness.serve.catalog import Filters, catalog, latency_ms, summarise
from harness.serve.static import write_static

DAY = datetime(2026, 11, 1, 2, 0, 0)
HOSTILE = '<script>alert("x")</script>'


def rows(html: str) -> list[str]:
    return re.findall(r'<tr class="run[^"]*"[^>]*>', html)


@pytest.fixture
def nights(tmp_path: Path) -> Path:
    """Three nights of a raft test (valid, invalid, valid) and one etcd run, one folder broken."""
    root = tmp_path / "results"
    fake_run(root, "nightly", DAY, True, history=[1, 2, 3, 4], config={"nemesis": ["partition"], "db": "raft",
                                                                        "workload": "register", "rate": 100})
    fake_run(root, "nightly", DAY + timedelta(days=1), False, config={"nemesis": ["partition", "kill"], "db": "raft",
                                                                      "workload": "register", "rate": 200},
             latency={"p50_ms": 7.5, "p99_ms": 80.0},
             checkers={"linearizable": {"valid": False, "counterexample": {"message": f"read of 3 {HOSTILE}"}}},
             faults={"partition": {"injected": 3}, "kill": {"injected": 1}}, timings={"ops_per_s": 42.0})
    fake_run(root, "nightly", DAY + timedelta(days=2), True, config={"nemesis": ["partition"], "db": "raft",
                                                                     "workload": "register", "rate": 100})
    fake_run(root, "etcd-bank", DAY + timedelta(days=1), "unknown", config={"nemesis": [], "db": "etcd",
                                                                            "workload": "bank"})
    broken = fake_run(root, "nightly", DAY + timedelta(days=3), True)
    (broken / "results.json").write_text('{"valid": tru')
    return root


def test_a_broken_results_folder_shows_as_broken_and_hides_nothing(nights: Path, capsys) -> None:
    with serving(nights) as srv:
        status, index = get(srv, "/")
    assert status == 200
    assert len(rows(index)) == 5
    assert "broken: results.json is not valid JSON" in index and "(1 broken)" in index
    assert "Traceback" not in capsys.readouterr().err


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                        st.sampled_from(["valid", "test_name", "config", "nemesis", "db", "workload", "counts",
                                         "faults", "timings", "ops_per_s", "injected", "seed", "latency", "p50_ms",
                                         "checkers", "counterexample", "message", "failures", "problems"]),
                        inner, max_size=6), max_leaves=20))
def test_any_json_in_results_json_renders(tmp_path_factory, value) -> None:
    """Whatever JSON a results.json holds (wrong types included), every page renders."""
    root = tmp_path_factory.mktemp("r")
    run = fake_run(root, "t", DAY)
    fake_run(root, "t", DAY + timedelta(days=1))
    (run / "results.json").write_text(json.dumps(value))
    runs = catalog(root)
    links = pages.Links()
    assert len(rows(pages.index_html(root, runs, Filters(), links))) == 2
    for test in {r.test for r in runs}:
        pages.trend_html(root, test, runs, links)
    pages.diff_html(root, runs[0], runs[1], links)


def test_filters_from_the_query(nights: Path) -> None:
    runs = catalog(nights)

    def shown(query: str) -> list[str]:
        f = Filters.from_query(query)
        return sorted(r.rel for r in runs if f.matches(r))

    assert shown("db=etcd") == ["etcd-bank/20261102T020000"]
    assert shown("workload=register&verdict=invalid") == ["nightly/20261102T020000"]
    assert shown("nemesis=kill") == ["nightly/20261102T020000"]
    assert shown("nemesis=none") == ["etcd-bank/20261102T020000"]
    assert shown("test=nightly&since=2026-11-02&until=2026-11-03") == ["nightly/20261102T020000",
                                                                       "nightly/20261103T020000"]
    assert shown("verdict=broken") == ["nightly/20261104T020000"]
    assert len(shown("")) == 5
    bad = Filters.from_query("since=yesterday&verdict=maybe")
    assert bad.errors == ["verdict must be one of valid, invalid, unknown, broken",
                          "since must be a date as YYYY-MM-DD"]
    with serving(nights) as srv:
        _, page = get(srv, "/?db=raft&nemesis=partition&verdict=valid")
        assert len(rows(page)) == 2 and 'value="raft" selected' in page
        _, page = get(srv, "/?since=yesterday")
        assert len(rows(page)) == 5 and "ignored: since must be a date" in page


def test_summary_reads_db_and_workload_and_tolerates_their_absence(nights: Path) -> None:
    old = fake_run(nights, "old", DAY, True, config={"nemesis": "partition,kill"})
    s = summarise(nights.resolve(), old)
    assert (s.db, s.workload, s.nemesis, s.verdict) == (None, None, ("partition", "kill"), "valid")
    new = {r.rel: r for r in catalog(nights)}["etcd-bank/20261102T020000"]
    assert (new.db, new.workload, new.nemesis, new.verdict) == ("etcd", "bank", (), "unknown")


def test_latency_recorded_or_computed_from_the_history(nights: Path) -> None:
    root = nights.resolve()
    by = {r.rel: r for r in catalog(root)}
    assert latency_ms(root, by["nightly/20261101T020000"]) == (3.0, 4.0), "from history.jsonl: ok reads of 1-4 ms"
    assert latency_ms(root, by["nightly/20261102T020000"]) == (7.5, 80.0), "as results.json recorded it"
    assert latency_ms(root, by["nightly/20261103T020000"]) == (None, None), "no history: a gap, not a zero"


def test_trend_page_plots_each_run_and_escapes(nights: Path) -> None:
    with serving(nights) as srv:
        status, page = get(srv, "/trend?test=nightly")
    assert status == 200
    assert page.count('<rect class="v ') == 4, "one verdict mark per run of the test, broken included"
    assert '<rect class="v invalid"' in page and '<rect class="v broken"' in page
    assert "etcd" not in page.split("<h1>")[1].split("</h1>")[0]
    assert 'aria-label="throughput"' in page and 'aria-label="latency"' in page
    assert "p99: 80 ms" in page and "ops/s: 42 /s" in page
    assert "kill: 1 injected" in page
    assert page.count("diff with previous") == 3
    with serving(nights) as srv:
        assert "No runs of &lt;b&gt;" in get(srv, "/trend?test=%3Cb%3E")[1]
        _, narrowed = get(srv, "/trend?test=nightly&nemesis=kill&verdict=valid")
        assert narrowed.count('<rect class="v ') == 1, "narrowed to the one night with kill; verdict is not narrowed"
        assert "Only runs with nemesis kill" in narrowed
        _, index = get(srv, "/?db=raft&verdict=invalid")
        assert 'href="/trend?test=nightly&amp;db=raft"' in index, "the index's trend links keep its filters"


def test_diff_page_marks_what_changed(nights: Path) -> None:
    with serving(nights) as srv:
        status, page = get(srv, "/diff?a=nightly/20261101T020000&b=nightly/20261102T020000")
        assert get(srv, "/diff?a=nightly/20261101T020000&b=../../etc")[0] == 404
        assert get(srv, "/diff")[0] == 404
    assert status == 200
    differs = re.findall(r"<tr class=differs><th>([^<]*)</th>", page)
    for name in ("verdict", "nemesis", "ops/s", "p50 ms", "rate", "partition", "kill", "linearizable: anomalies"):
        assert name in differs, (name, differs)
    assert "workload" not in differs and "seed" not in differs
    assert HOSTILE not in page and "read of 3 &lt;script&gt;" in page


def test_hostile_names_are_escaped_everywhere(tmp_path: Path) -> None:
    root = tmp_path / "results"
    fake_run(root, "x", DAY, True, test_name=HOSTILE, seed=HOSTILE,
             config={"nemesis": [HOSTILE], "db": HOSTILE, "workload": '"><img src=x onerror=alert(1)>'})
    fake_run(root, "x", DAY + timedelta(days=1), True, test_name=HOSTILE)
    runs = catalog(root.resolve())
    for links in (pages.Links(), pages.Links(static=True, prefix="", diffs=set())):
        for html in (pages.index_html(root, runs, Filters(), links), pages.trend_html(root, HOSTILE, runs, links),
                     pages.diff_html(root, runs[0], runs[1], links)):
            assert "<script>alert" not in html and "<img" not in html


def test_static_site_links_all_resolve(nights: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    assert write_static(nights, out) == 1 + 2 + 3, "index, two trends, diffs of the 3 consecutive nightly pairs"
    assert (out / "diff" / "nightly" / "20261101T020000--20261102T020000.html").is_file()
    assert (out / "runs" / "nightly" / "20261101T020000" / "report.html").is_file()
    assert not (out / "runs" / "nightly" / "20261104T020000" / "results.json").exists(), "broken: not copied"
    checked = 0
    for page in out.rglob("*.html"):
        for href in re.findall(r'href="([^"]*)"', page.read_text()):
            target = unquote(urlsplit(href.replace("&amp;", "&")).path)
            if page.parent.name == "20261101T020000" or not target:
                continue
            assert (page.parent / target).resolve().is_file(), f"{page.relative_to(out)} links to missing {href}"
            checked += 1
    assert checked > 30
    assert write_static(nights, out) == 6, "writing again over our own output is fine"


def test_static_refuses_a_folder_it_did_not_write_or_inside_the_results(nights: Path, tmp_path: Path) -> None:
    other = tmp_path / "mine"
    other.mkdir()
    (other / "thesis.tex").write_text("x")
    with pytest.raises(UsageError, match="not empty"):
        write_static(nights, other)
    with pytest.raises(UsageError, match="outside the results folder"):
        write_static(nights, nights / "site")
