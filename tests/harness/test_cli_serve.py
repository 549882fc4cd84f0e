"""`harness serve` and error logging from the command line: one line and 254 for what the user
asked wrong, a loud warning when serving to the network, tracebacks in a private file."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from serve_fixtures import fake_run
from test_cli import ROOT, assert_one_line, harness

from harness import cli


def test_bad_port_is_one_line(tmp_path: Path) -> None:
    done = harness("serve", "--results", str(tmp_path), "--port", "99999")
    assert done.returncode == 254
    assert_one_line(done.stderr, "--port", "0 to 65535")


def test_busy_port_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        done = harness("serve", "--results", str(tmp_path), "--port", str(busy.getsockname()[1]))
    assert done.returncode == 254
    assert_one_line(done.stderr, "cannot listen on 127.0.0.1:")


def test_remote_host_is_refused_without_allow_remote(tmp_path: Path) -> None:
    done = harness("serve", "--results", str(tmp_path), "--host", "0.0.0.0", "--port", "0")
    assert done.returncode == 254
    assert_one_line(done.stderr, "refusing to serve on '0.0.0.0'", "--allow-remote")


def test_allow_remote_warns_loudly(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "serve", "--results", str(tmp_path), "--host",
                             "0.0.0.0", "--port", "0", "--allow-remote"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None and proc.stdout is not None
        warning = proc.stderr.readline()
        assert warning.startswith("WARNING: serving") and "without authentication" in warning
        assert proc.stdout.readline().startswith(f"serving {tmp_path} at http://0.0.0.0:")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(20)
    assert proc.returncode == 0


def test_static_from_the_command_line(tmp_path: Path) -> None:
    fake_run(tmp_path / "results", "t", datetime(2026, 11, 1))
    done = harness("serve", "--results", str(tmp_path / "results"), "--static", str(tmp_path / "site"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "site" / "index.html").is_file() and (tmp_path / "site" / "trend" / "t.html").is_file()
    done = harness("serve", "--results", str(tmp_path / "results"), "--static", str(tmp_path / "results" / "x"))
    assert done.returncode == 254
    assert_one_line(done.stderr, "outside the results folder")


def test_tracebacks_go_to_a_new_private_file_never_through_a_planted_link(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / "harness-error.log").symlink_to(victim)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        first, second = cli._log_traceback(), cli._log_traceback()
    assert victim.read_text() == "precious"
    assert first != second, "a new file each time, no fixed name"
    for path in (first, second):
        assert Path(path).parent == tmp_path and "RuntimeError: boom" in Path(path).read_text()
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_traceback_that_cannot_be_saved_is_said(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "gone"))
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        assert cli._log_traceback().startswith("nowhere: could not save it")
