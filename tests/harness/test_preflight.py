"""Checks made before a system starts on a user's own nodes: the tools a fault runs there, and the
host keys of real hosts. Both refuse with one line naming what is missing (exit 254)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import paramiko
import pytest
from test_cli import assert_one_line, harness

from harness.errors import UsageError
from harness.nemesis.registry import check_tools
from harness.platform import SSHPlatform
from harness.remote.base import ExecResult


class ShellRemote:
    """Runs a node's commands in a local shell whose PATH holds only the tools that node has."""

    def __init__(self, bins: dict[str, Path]) -> None:
        self.bins = bins

    def exec(self, node: str, argv: list[str], timeout: float = 30.0) -> ExecResult:
        shell = shutil.which(argv[0]) or argv[0]  # found on our PATH; the node's tools on its own
        p = subprocess.run([shell, *argv[1:]], capture_output=True, text=True, timeout=timeout,
                           env={"PATH": str(self.bins[node])})
        return ExecResult(p.returncode, p.stdout, p.stderr)


def _node_with(tmp_path: Path, node: str, *tools: str) -> Path:
    folder = tmp_path / node
    folder.mkdir()
    for tool in tools:
        (folder / tool).write_text("#!/bin/sh\n")
        (folder / tool).chmod(0o755)
    return folder


def test_a_node_lacking_a_faults_tool_is_named_with_the_tool_and_the_fault(tmp_path: Path) -> None:
    remote = ShellRemote({"n1": _node_with(tmp_path, "n1", "iptables", "python3", "ip", "tc"),
                          "n2": _node_with(tmp_path, "n2", "python3")})
    check_tools(["kill", "clock"], remote, ["n1", "n2"])  # they run nothing of their own on the nodes
    check_tools(["partition", "packet"], remote, ["n1"])
    with pytest.raises(UsageError, match=r"^node n2 has no iptables, which nemesis partition runs there"):
        check_tools(["partition", "kill"], remote, ["n1", "n2"])
    with pytest.raises(UsageError, match=r"^node n2 has no iptables, ip, tc, which nemesis partition, packet runs"):
        check_tools(["partition", "packet"], remote, ["n1", "n2"])


def _nodes_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "nodes"
    path.write_text(text)
    return path


def test_every_host_needs_a_key_in_known_hosts_unless_insecure(tmp_path: Path) -> None:
    nodes = _nodes_file(tmp_path, "a=10.0.0.1\nb=10.0.0.2:2222\n")
    key = paramiko.RSAKey.generate(1024)
    known = tmp_path / "known_hosts"
    known.write_text(f"10.0.0.1 {key.get_name()} {key.get_base64()}\n")
    with pytest.raises(UsageError, match=r"node b \(\[10.0.0.2\]:2222\) has no key in .*known_hosts.*--ssh-insecure"):
        SSHPlatform(nodes, known_hosts=known).check(2)
    with known.open("a") as f:
        f.write(f"[10.0.0.2]:2222 {key.get_name()} {key.get_base64()}\n")
    platform = SSHPlatform(nodes, known_hosts=known)
    platform.check(2)
    assert platform.describe()["known_hosts"] == str(known)
    SSHPlatform(nodes, insecure=True).check(2)
    with pytest.raises(UsageError, match=r"--ssh-known-hosts .*missing: no such file"):
        SSHPlatform(nodes, known_hosts=tmp_path / "missing").check(2)


def test_the_insecure_warning_is_said_before_anything_starts(tmp_path: Path) -> None:
    said: list[str] = []
    SSHPlatform(_nodes_file(tmp_path, "10.0.0.1\n"), insecure=True).prepare(None, said.append)  # type: ignore[arg-type]
    assert said and said[0].startswith("warning: --ssh-insecure: host keys are not checked")


@pytest.mark.parametrize(("args", "words"), [
    (["--ssh-known-hosts", "k"], ["--ssh-known-hosts", "--nodes-file"]),
    (["--nodes-file", "NODES", "--ssh-insecure", "--ssh-known-hosts", "k"], ["--ssh-insecure", "--ssh-known-hosts"]),
    (["--nodes-file", "NODES"], ["node n1 (10.0.0.1) has no key in", "--ssh-insecure"]),
])
def test_ssh_choices_that_cannot_work_exit_254_with_one_line(tmp_path: Path, args: list[str],
                                                             words: list[str]) -> None:
    nodes = _nodes_file(tmp_path, "10.0.0.1\n10.0.0.2\n10.0.0.3\n")
    r = harness("run", *[str(nodes) if a == "NODES" else a for a in args], env={"HOME": str(tmp_path)}, cwd=tmp_path)
    assert r.returncode == 254
    assert_one_line(r.stderr, *words)
