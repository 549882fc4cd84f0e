"""Bad input gets one clear line and the right exit code, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def harness(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        capture_output=True, text=True, timeout=120, cwd=cwd, env={**os.environ, **(env or {})},
    )


def assert_one_line(stderr: str, *words: str) -> None:
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    for w in words:
        assert w in lines[0], stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["run", "--nemesis", "bogus"], ["unknown nemesis bogus", "partition"]),
        (["run", "--nodes", "0"], ["--nodes", "positive"]),
        (["run", "--nodes", "2"], ["at least 3"]),
        (["run", "--time-limit", "soon"], ["--time-limit", "not a number"]),
        (["run", "--subnet", "10.1.2.3/8"], ["--subnet"]),
        (["run", "--subnet", "10.9.9.0/29"], ["too small"]),
        (["run", "--subnet", "0.0.0.0/0"], ["--subnet", "private"]),
        (["run", "--subnet", "127.0.0.0/24"], ["--subnet", "private"]),
        (["run", "--subnet", "224.0.0.0/24"], ["--subnet", "private"]),
        (["run", "--subnet", "172.17.0.0/24"], ["default bridge"]),
        (["run", "--bug", "typo"], ["--db-opt bug=typo", "stale-read"]),
        (["run", "--read-mode", "fast"], ["--db-opt read-mode=fast", "lease"]),
        (["run", "--election-timeout-ms", "300:soon"], ["election-timeout-ms", "not a number"]),
        (["run", "--election-timeout-ms", "600:300"], ["600:300", "LOW <= HIGH"]),
        (["run", "--db-opt", "colour=blue"], ["--db-opt colour", "no such option", "read-mode"]),
        (["run", "--db-opt", "pre-vote"], ["KEY=VALUE"]),
        (["run", "--db", "nosuch"], ["--db nosuch", "unknown", "raft"]),
        (["run", "--db", "/nonexistent/db.py:X"], ["no such file"]),
        (["run", "--workload", "nosuch"], ["--workload nosuch", "register"]),
        (["run", "--workload-opt", "keys=0"], ["keys=0", "between"]),
        (["run", "--time-limit", "nan"], ["--time-limit", "finite"]),
        (["run", "--rate", "inf"], ["--rate", "finite"]),
        (["run", "--concurrency", "1000000"], ["--concurrency", "1000"]),
        (["run", "--image", "x", "--dockerfile", "y"], ["--image and --dockerfile"]),
        (["run", "--ssh-key", "k"], ["--ssh-key", "--nodes-file"]),
        (["run", "--nodes-file", "hosts", "--subnet", "10.9.9.0/24"], ["--subnet", "--nodes-file"]),
        (["run", "--db", "etcd", "--bug", "stale-read"], ["--db raft"]),
        (["clean", "--run-id", "x", "--all"], ["--run-id and --all"]),
        (["frobnicate"], ["invalid choice"]),
    ],
)
def test_bad_arguments_exit_254_with_one_line(args: list[str], words: list[str]) -> None:
    r = harness(*args)
    assert r.returncode == 254
    assert_one_line(r.stderr, *words)


def test_malformed_history_names_the_line(tmp_path: Path) -> None:
    h = tmp_path / "history.jsonl"
    h.write_text('{"index":0,"time":1,"process":0,"type":"invoke","f":"read","key":"a","value":null}\n'
                 "{not json}\n"
                 '{"index":2,"time":3,"process":0,"type":"ok","f":"read","key":"a","value":null}\n')
    r = harness("check", str(h))
    assert r.returncode == 254
    assert_one_line(r.stderr, "line 2")


def test_missing_history_is_a_usage_error(tmp_path: Path) -> None:
    r = harness("check", str(tmp_path / "nope"))
    assert r.returncode == 254
    assert_one_line(r.stderr, "no such file")


def test_unreachable_docker_engine_exits_255_with_one_line(tmp_path: Path) -> None:
    r = harness("clean", env={"DOCKER_HOST": f"unix://{tmp_path}/no.sock"})
    assert r.returncode == 255
    assert_one_line(r.stderr, "cannot reach the Docker engine")


def test_check_exit_codes_follow_the_verdict(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text(
        '{"process":0,"type":"invoke","f":"write","key":"a","value":1}\n'
        '{"process":0,"type":"ok","f":"write","key":"a","value":1}\n'
        '{"process":1,"type":"invoke","f":"read","key":"a","value":null}\n'
        '{"process":1,"type":"ok","f":"read","key":"a","value":1}\n'
    )
    bad = tmp_path / "bad.jsonl"
    stale = '"ok","f":"read","key":"a","value":2'
    bad.write_text(good.read_text().replace('"ok","f":"read","key":"a","value":1', stale))
    assert harness("check", str(good)).returncode == 0
    r = harness("check", str(bad))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "INVALID" in r.stdout
    assert harness("check", str(good), str(bad)).returncode == 1


def test_node_options_reach_the_node_command_line() -> None:
    """The old Raft flags are aliases of --db-opt; both end up as the node's own flags."""
    from harness.cli import _db_opts, build_parser
    from harness.dbs.raft import RaftDB, node_flags

    args = build_parser().parse_args(
        ["run", "--bug", "lease-skew", "--db-opt", "bug=stale-read", "--read-mode", "lease", "--no-pre-vote",
         "--election-timeout-ms", "150:300"]
    )
    db = RaftDB.from_pairs(_db_opts(args))
    assert node_flags(db.opts) == ["--bug", "stale-read", "--bug", "lease-skew", "--read-mode", "lease",
                                   "--no-pre-vote", "--election-timeout-ms", "150:300"]
    assert node_flags(RaftDB.from_pairs().opts) == []  # the defaults leave the node's own defaults alone
