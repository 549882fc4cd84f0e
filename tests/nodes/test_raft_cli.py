"""Command-line parsing of ``python3 -m nodes.raft``: the harness depends on these exact flags."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest
from raft_procs import ROOT

from nodes.raft.__main__ import build_parser, parse_peers, parse_range

REQUIRED = ["--id", "n1", "--peers", "n1=10.0.0.11:7000,n2=10.0.0.12:7000", "--client-port", "8000"]


def test_required_flags_and_defaults() -> None:
    args = build_parser().parse_args([*REQUIRED, "--data-dir", "/var/lib/raft"])
    assert args.peers == {"n1": ("10.0.0.11", 7000), "n2": ("10.0.0.12", 7000)}
    assert (args.client_port, args.data_dir, args.listen) == (8000, "/var/lib/raft", "0.0.0.0")
    assert args.election_timeout_ms == (300.0, 600.0)
    assert (args.heartbeat_ms, args.read_mode, args.bug, args.no_pre_vote) == (75.0, "readindex", [], False)


def test_optional_flags() -> None:
    extra = ["--election-timeout-ms", "150:450", "--heartbeat-ms", "40", "--read-mode", "lease"]
    extra += ["--bug", "stale-read", "--bug", "early-ack", "--listen", "127.0.0.2"]
    args = build_parser().parse_args([*REQUIRED, "--data-dir", "d", *extra])
    assert args.election_timeout_ms == (150.0, 450.0)
    assert (args.heartbeat_ms, args.read_mode, args.listen) == (40.0, "lease", "127.0.0.2")
    assert args.bug == ["stale-read", "early-ack"]


@pytest.mark.parametrize("text", ["n1", "n1=host", "n1=host:port", "=h:1"])
def test_bad_peers(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_peers(text)


@pytest.mark.parametrize("text", ["x", "600:300", "0:10", "-5:5"])
def test_bad_ranges(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_range(text)


def test_unknown_bug_and_self_not_in_peers_are_refused(tmp_path) -> None:
    base = [sys.executable, "-m", "nodes.raft", "--client-port", "1", "--data-dir", str(tmp_path)]
    env = {"PYTHONPATH": str(ROOT)}
    bad_bug = subprocess.run([*base, "--id", "n1", "--peers", "n1=h:1", "--bug", "nope"], env=env, capture_output=True)
    assert bad_bug.returncode == 2
    not_member = subprocess.run([*base, "--id", "n9", "--peers", "n1=h:1"], env=env, capture_output=True)
    assert not_member.returncode != 0 and b"n9" in not_member.stderr
