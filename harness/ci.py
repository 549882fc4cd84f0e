"""What a CI system reads after a run: JUnit XML (one test case per checker) and a markdown summary.

CI servers already know how to show JUnit failures and step summaries; giving them a run's
verdict in those forms puts "linearizable: failed on key r1" on the pull request instead of
behind a downloaded artifact. An `unknown` verdict is a JUnit *error*, not a pass: a check that
could not decide has not shown the system correct. Problems of the harness itself (a heal that
could not be verified, an interruption) are one more test case, `harness`, for the same reason;
each error's type says where an unknown came from (unknown-harness, unknown-interrupted,
unknown-checker), so a flaky harness is never mistaken for an undecided history.
"""

from __future__ import annotations

import json
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from harness.store import REPORT

_WORD = {True: "valid", False: "invalid"}


def _verdict(valid: Any) -> str:
    return _WORD.get(valid, "unknown")


def _why(result: Any) -> str:
    if not isinstance(result, dict):
        return str(result)
    cex = result.get("counterexample")
    if isinstance(cex, dict) and cex.get("message"):
        return str(cex["message"])
    return str(result.get("reason") or result.get("error") or f"verdict {_verdict(result.get('valid'))}")


def replay_command(results: dict[str, Any]) -> str:
    """The command line that runs this test again with the same seed (and so the same choices)."""
    argv = list((results.get("config") or {}).get("argv") or ["harness", "run"])
    if "--seed" not in argv:
        argv += ["--seed", str(results.get("seed"))]
    return shlex.join(str(a) for a in argv)


def _cases(results: dict[str, Any]) -> list[tuple[str, Any, float, str, str]]:
    """(name, verdict, seconds, why, kind) per checker, plus a `harness` case for the harness's own
    trouble: its kind says whether an unknown came from the harness, an interruption or a checker."""
    cases = []
    for checker, r in dict(results.get("checkers") or {}).items():
        valid = r.get("valid") if isinstance(r, dict) else "unknown"
        seconds = float(r.get("seconds") or 0) if isinstance(r, dict) else 0.0
        cases.append((checker, valid, seconds, _why(r), "invalid" if valid is False else "unknown-checker"))
    cause = results.get("unknown_cause") or {}
    problems = [str(p) for p in results.get("problems") or []]
    if results.get("failure"):
        problems.insert(0, f"the run failed: {results['failure']}")
    if results.get("interrupted"):
        problems.insert(0, "the run was interrupted")
    if problems:
        kind = "interrupted" if results.get("interrupted") else "harness"
        cases.append(("harness", "unknown", 0.0, "; ".join(problems), f"unknown-{kind}"))
    elif cause.get("kind") == "checker" and not cases:
        cases.append(("harness", "unknown", 0.0, str(cause.get("detail")), "unknown-checker"))
    return cases


def _suite(parent: ET.Element, results: dict[str, Any], run_dir: Path | None) -> tuple[int, int, int]:
    name = str(results.get("test_name", "harness"))
    cases = _cases(results)
    failures = sum(1 for _, v, _, _, _ in cases if v is False)
    errors = sum(1 for _, v, _, _, _ in cases if v is not True and v is not False)
    total = sum((results.get("timings") or {}).get(k, 0) or 0 for k in ("workload_s", "check_s"))
    suite = ET.SubElement(parent, "testsuite", name=name, tests=str(len(cases)), failures=str(failures),
                          errors=str(errors), skipped="0", time=f"{total:.3f}")
    props = ET.SubElement(suite, "properties")
    run_props = [("seed", results.get("seed")), ("run_id", results.get("run_id")),
                 ("nemesis", json.dumps((results.get("config") or {}).get("nemesis"))),
                 ("replay", replay_command(results))]
    if run_dir is not None:
        run_props.append(("report", str(run_dir / REPORT)))
    for k, v in (*run_props, *sorted((results.get("versions") or {}).items())):
        ET.SubElement(props, "property", name=str(k), value=str(v))
    for checker, valid, seconds, why, kind in cases:
        case = ET.SubElement(suite, "testcase", classname=f"harness.{name}", name=checker, time=f"{seconds:.3f}")
        case_props = ET.SubElement(case, "properties")
        for k, v in run_props:
            ET.SubElement(case_props, "property", name=str(k), value=str(v))
        if valid is False:
            ET.SubElement(case, "failure", message=why.splitlines()[0][:500] if why else "invalid",
                          type=kind).text = why
        elif valid is not True:
            ET.SubElement(case, "error", message=why[:500], type=kind).text = why
    return len(cases), failures, errors


def junit_xml(runs: list[tuple[dict[str, Any], Path | None]]) -> ET.ElementTree:
    """A <testsuites> with one <testsuite> per run and one <testcase> per checker (and for the
    harness's own trouble), each carrying the seed, the replay command and the report's path."""
    suites = ET.Element("testsuites", name="harness")
    totals = [0, 0, 0]
    for results, run_dir in runs:
        for i, n in enumerate(_suite(suites, results, run_dir)):
            totals[i] += n
    suites.set("tests", str(totals[0]))
    suites.set("failures", str(totals[1]))
    suites.set("errors", str(totals[2]))
    ET.indent(suites)
    return ET.ElementTree(suites)


def write_junit(results: dict[str, Any], path: Path, run_dir: Path | None = None) -> Path:
    junit_xml([(results, run_dir)]).write(path, encoding="utf-8", xml_declaration=True)
    return path


def summary_markdown(results: dict[str, Any], run_dir: Path) -> str:
    """A few lines for a CI step summary: verdict, per-checker result, faults, counts, where to look."""
    faults = results.get("faults") or {}
    word = _verdict(results.get("valid"))
    icon = {"valid": "✅", "invalid": "❌"}.get(word, "⚠️")
    counts = results.get("counts") or {}
    lines = [f"## {icon} {word.upper()}: {_md(str(results.get('test_name', 'run')))} (seed {results.get('seed')})", ""]
    lines += ["| checker | verdict | detail |", "| --- | --- | --- |"]
    for checker, r in (results.get("checkers") or {}).items():
        valid = r.get("valid") if isinstance(r, dict) else "unknown"
        detail = "" if valid is True else _why(r)
        lines.append(f"| {_md(checker)} | {_verdict(valid)} | {_md(detail[:300])} |")
    lines.append("")
    ops = {t: sum(c.get(t, 0) for c in counts.values()) for t in ("ok", "fail", "info")}
    lines.append(f"Operations: {sum(ops.values())} ({ops['ok']} ok, {ops['fail']} fail, {ops['info']} info).")
    if faults:
        lines.append("Faults: " + "; ".join(f"{_md(k)} x{s['injected']} on {_md(' '.join(s['nodes']) or '?')}"
                                           for k, s in faults.items()) + ".")
    else:
        lines.append("Faults: none.")
    for p in results.get("problems") or []:
        lines.append(f"- problem: {_md(str(p))}")
    lines += ["", f"Report: `{run_dir / REPORT}`", ""]
    return "\n".join(lines)


def _md(text: str) -> str:
    """Keep a value from breaking the table or injecting markup into the CI page."""
    return (text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\n", " "))


def write_summary(results: dict[str, Any], run_dir: Path, path: Path) -> Path:
    path.write_text(summary_markdown(results, run_dir), encoding="utf-8")
    return path
