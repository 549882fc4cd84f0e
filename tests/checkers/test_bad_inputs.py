"""`harness check` and `harness report` on hostile input: 254 and one line naming file and line.

Never VALID for something that is not a history, never 255 (that is for the harness's own
failures), and never unbounded memory: the cases are the ones issue 11 found.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from checkers.api import check_file
from checkers.reading import MAX_LINE_BYTES
from harness.cli import main

ROOT = Path(__file__).resolve().parents[2]
HISTORIES = ROOT / "tests" / "data" / "histories"
WRITE = '{"process":0,"type":"invoke","f":"write","value":%s}\n{"process":0,"type":"ok","f":"write","value":%s}\n'
READ = '{"process":1,"type":"invoke","f":"read"}\n{"process":1,"type":"ok","f":"read","value":%s}\n'


def history(w: str, r: str) -> str:
    return WRITE % (w, w) + READ % r


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        (b"this is not a history at all", 1, "not a history in any format"),
        (b"\0\0\0", 1, "not a history in any format"),
        (b"QUJD" * 25_000 + b"\n", 1, "not a history in any format"),
        (b"", None, "no history in it"),
        (b"\n\n  \n", None, "no history in it"),
        (b'{"process":"nemesis","type":"info","f":"start"}\n', None, "no client operation"),
        (history("NaN", "NaN").encode(), 1, "NaN is not a JSON number"),
        (history("Infinity", "1").encode(), 1, "Infinity is not a JSON number"),
        (b'{"process":0,"type":"invoke","f":"write","value":1,"time":1e400}\n', 1, "too large for a float"),
        (b'{"process":0,"type":"invoke","f":"write","value":1,"index":Infinity}\n', 1, "Infinity"),
        (b'{"process":0,"type":"invoke","f":"write","value":1,"time":1.5}\n', 1, "time must be an integer"),
        (b'{"process":0,"type":"invoke","f":"write","value":' + b"7" * 5000 + b"}\n", 1, "4300 digits"),
        (b'{"process":0,"type":"invoke","f":"write","value":' + b"[" * 100_000 + b"]" * 100_000 + b"}\n", 1,
         "nested deeper"),
        (b'{"process":0,"type":"invoke","f":"w\xff"}\n', 1, "not UTF-8"),
        ((WRITE % (1, 1)).encode() + b'{"process":0,"type":"ok","f":"write","value":1}\n', 3, "no open invocation"),
        (b'{"process":0,"type":"invoke","f":"read"}\n{"process":0,"type":"invoke","f":"read"}\n', 2, "still open"),
        (b'{"process":0,"type":"invoke","f":"cas","value":[1]}\n', 1, "expected, new"),
        (b"[{:process 0 :type :invoke :f :write :value ##NaN}]\n", 1, "##NaN"),
        (b"[{:process 0 :type :invoke :f :write :value 1e400}]\n", 1, "too large"),
        (b"[" * 200 + b"\n", 1, "nested deeper"),
        (b"INFO  jepsen.util - 0\t:invoke\t:write\t" + b"9" * 5000 + b"\n", 1, "too many digits"),
    ],
)
def test_bad_file_is_254_with_file_and_line(tmp_path, capsys, content, line, message):
    path = tmp_path / "h"
    path.write_bytes(content)
    code, out, err = run(["check", str(path)], capsys)
    assert code == 254, out
    assert err.count("\n") == 1 and message in err
    assert err.startswith(f"harness: {path}" + (f" line {line}:" if line else ""))


def test_a_file_not_in_the_format_it_claims_is_an_error(tmp_path, capsys):
    edn = HISTORIES / "knossos" / "cas-register" / "bad" / "cas-failure.edn"
    log = HISTORIES / "porcupine" / "jepsen" / "etcd_000.log"
    for path, claimed in [(edn, "jsonl"), (log, "edn"), (edn, "jepsen-log"), (log, "jsonl")]:
        code, _, err = run(["check", str(path), "--format", claimed], capsys)
        assert code == 254 and str(path) in err, (path, claimed, err)


def test_format_is_detected_and_said(capsys):
    for e in json.loads((HISTORIES / "MANIFEST.json").read_text()):
        if e["ops"] == 0 or e["format"] == "jsonl":
            continue
        r = check_file(HISTORIES / e["file"], model=e["model"], init=e["initial_state"], shrink=False)
        assert (r["format"], r["format_detected"]) == (e["format"], True), e["file"]
    etcd = HISTORIES / "porcupine" / "jepsen" / "etcd_002.log"
    code, out, _ = run(["check", str(etcd)], capsys)
    assert code == 0 and "(jepsen-log, detected;" in out


def test_cut_short_history_is_unknown_with_the_reason(tmp_path, capsys):
    path = tmp_path / "history.jsonl"
    path.write_text(history("1", "1")[:-20])  # the harness died writing the read's completion
    code, out, _ = run(["check", str(path), "--json"], capsys)
    r = json.loads(out)
    assert code == 2 and r["valid"] == "unknown" and r["reason"] == "history cut short"
    assert f"{path} line 4: cut short" in r["cut_short"]
    # What was read is still checked: a violation before the cut is a violation.
    path.write_text(history("1", "2") + history("3", "3")[:-20].replace('"process":0', '"process":5'))
    assert run(["check", str(path)], capsys)[0] == 1
    # A cut EDN vector is cut short too.
    edn = tmp_path / "h.edn"
    edn.write_text("[{:process 0 :type :invoke :f :write :value 1}\n {:process 0 :type :ok :f :write :value 1}\n {:pro")
    code, out, _ = run(["check", str(edn)], capsys)
    assert code == 2 and "never closed" in out


def test_bad_options_are_254(tmp_path, capsys):
    path = tmp_path / "h.jsonl"
    path.write_text(history("1", "1"))
    for argv in (["--model", "bogus"], ["--init", "NaN"], ["--init", "{"], ["--time-limit", "nan"],
                 ["--time-limit", "inf"], ["--model", "key-value", "--init", "5"], ["--model", "set", "--init", "5"],
                 ["--model", "multi-register", "--init", "[1]"], ["--model", "fifo-queue", "--init", "true"]):
        with pytest.raises(SystemExit) as e:
            code = main(["check", str(path), *argv])
            raise SystemExit(code)
        assert e.value.code == 254, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and ("--" in err or "argument" in err), err


def test_several_paths_go_on_after_a_bad_one_and_exit_with_the_worst(tmp_path, capsys):
    good, bad, invalid = tmp_path / "good.jsonl", tmp_path / "bad.jsonl", tmp_path / "invalid.jsonl"
    good.write_text(history("1", "1"))
    bad.write_text("not a history\n")
    invalid.write_text(history("1", "2"))
    code, out, err = run(["check", str(bad), str(invalid), str(good)], capsys)
    assert code == 254
    assert out.count("INVALID: ") == 1 and out.count("VALID: ") == 2 and str(bad) in err
    assert run(["check", str(good), str(invalid)], capsys)[0] == 1


def test_json_output_never_has_bare_nan(tmp_path, capsys):
    path = tmp_path / "h.jsonl"
    path.write_text(history("1.5", "2.5"))
    code, out, _ = run(["check", str(path), "--json"], capsys)
    assert code == 1
    json.loads(out, parse_constant=lambda c: pytest.fail(f"bare {c} in --json output"))


def test_zero_bytes_end_fast_in_bounded_memory(tmp_path):
    """A 1 GB sparse file of zero bytes is one line too long, read in a bounded amount of memory."""
    sparse = tmp_path / "sparse"
    with open(sparse, "wb") as f:
        f.truncate(2**30)
    limit = 600 * 2**20 + 4 * MAX_LINE_BYTES  # the interpreter and its imports, plus a few lines' worth

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    for path in (sparse, Path("/dev/zero")):
        p = subprocess.run([sys.executable, "-m", "harness.cli", "check", str(path)], capture_output=True,
                           text=True, timeout=60, preexec_fn=cap, cwd=ROOT)
        assert p.returncode == 254, p.stderr
        assert f"{path} line 1: longer than" in p.stderr


def test_lone_surrogate_is_a_value_and_the_report_is_written(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "history.jsonl").write_text(history('"\\ud800"', '"\\ud800"'))
    results = {"valid": True, "checkers": {"x": {"valid": True, "s": "\ud800"}}}
    (run_dir / "results.json").write_text(json.dumps(results))
    code, out, _ = run(["check", str(run_dir), "--json"], capsys)
    assert code == 0 and json.loads(out)["valid"] is True
    assert run(["report", str(run_dir)], capsys)[0] == 0
    assert "\\ud800" in (run_dir / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "content",
    [b"nope", b"[1, 2]", b'{"checkers": 5}', b'{"checkers": {"x": {"failures": [1]}}}', b"\xff",
     b'{"checkers": {"x": {"failures": [{"core": 5}]}}}', b'{"valid": [1]}', b'{"problems": 3}'],
)
def test_malformed_results_json_is_254(tmp_path, capsys, content):
    (tmp_path / "results.json").write_bytes(content)
    (tmp_path / "history.jsonl").write_text(history("1", "1"))
    code, _, err = run(["report", str(tmp_path)], capsys)
    assert code == 254 and f"{tmp_path / 'results.json'}" in err and err.count("\n") == 1
