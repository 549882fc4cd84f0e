"""A user's own system, as a user runs it: one file outside the package, through the CLI, in real
containers and on real hosts over SSH, with the user's own images.

Every run is `python -m harness.cli run --db examples/failover_kv.py:FailoverKV ...` as a
subprocess from a temporary folder (with HOME there too, so no ~/.ssh of the machine is used),
and is judged only by what a user sees: the exit code, stderr, and the results folder.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest

from checkers.history import read_history
from harness.containers import DockerCluster
from harness.image import base_image

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(600)]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "failover_kv.py"
SPEC = f"{EXAMPLE}:FailoverKV"
SHORT = ["--nodes", "3", "--concurrency", "6", "--rate", "60", "--seed", "1"]
# sshd with host keys of its own (the image's would be shared by every container)
START_SSHD = "rm -f /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null && mkdir -p /run/sshd && /usr/sbin/sshd"


def harness_run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", "run", "--db", SPEC, "--results", "results", *args],
                          cwd=cwd, env={**os.environ, "HOME": str(cwd)}, capture_output=True, text=True, timeout=300)


def results_of(cwd: Path) -> tuple[Path, dict[str, Any]]:
    run_dir = (cwd / "results" / "latest").resolve()
    return run_dir, json.loads((run_dir / "results.json").read_text())


def test_example_file_gets_the_faults_history_checks_and_report_of_a_builtin(tmp_path, free_subnet,
                                                                             leftovers) -> None:
    """The example has a real bug (split brain under a partition): the harness must find it."""
    p = harness_run(tmp_path, "--nemesis", "partition", "--time-limit", "15", "--nemesis-interval", "3",
                    "--subnet", free_subnet("10.246"), *SHORT)
    assert p.returncode == 1, p.stdout + p.stderr
    assert p.stdout.splitlines()[-1].startswith("INVALID:"), p.stdout
    run_dir, r = results_of(tmp_path)
    assert leftovers(r["run_id"]) == []
    assert r["problems"] == [] and r["failure"] is None, r
    assert r["valid"] is False
    assert r["config"]["db"] == SPEC and r["config"]["db_options"] == {"dead-after-ms": 1000}
    linearizable = r["checkers"]["linearizable"]
    assert linearizable["valid"] is False and linearizable["counterexample"], linearizable
    assert r["faults"]["partition"]["injected"] >= 1
    assert r["faults"]["partition"]["healed"] == r["faults"]["partition"]["injected"]
    for name in ("history.jsonl", "history.edn", "results.json", "report.html", "harness.log"):
        assert (run_dir / name).is_file(), name
    for node in ("n1", "n2", "n3"):
        assert "serving on port 7100" in (run_dir / "nodes" / node / "node.log").read_text()
    events = read_history(run_dir / "history.jsonl")
    cuts = [e for e in events if e.process == "nemesis" and e.type == "info" and e.f == "start-partition"]
    assert cuts and all(e.value["probe"]["cut"]["reachable"] is False for e in cuts), "partitions must be verified"
    assert {e.f for e in events if e.is_client and e.type == "ok"} >= {"read", "write", "cas"}
    assert "failover-kv" in (run_dir / "report.html").read_text()


def _dockerfile(folder: Path, *lines: str) -> Path:
    folder.mkdir()
    path = folder / "Dockerfile"
    path.write_text("\n".join(["FROM debian:bookworm", *lines]) + "\n")
    return path


def test_dockerfile_built_on_the_base_image_then_used_with_image(tmp_path, free_subnet, docker_client,
                                                                 leftovers) -> None:
    """--dockerfile whose FROM cannot be pulled here is built on our base; --image takes a local image;
    a missing --image is one line and exit 254. No faults: the example is correct on a healthy network."""
    dockerfile = _dockerfile(tmp_path / "user-image", "RUN echo mine > /etc/user-image")
    subnet = free_subnet("10.246")
    p = harness_run(tmp_path, "--dockerfile", str(dockerfile), "--nemesis", "none", "--time-limit", "3",
                    "--db-opt", "dead-after-ms=3000", "--subnet", subnet, *SHORT)
    assert p.returncode == 0, p.stdout + p.stderr
    _, r = results_of(tmp_path)
    tag = r["platform"]["image"]
    try:
        assert leftovers(r["run_id"]) == []
        assert tag.startswith("harness-user:") and r["platform"]["dockerfile"] == str(dockerfile)
        assert "FROM debian:bookworm replaced by the harness base image" in r["platform"]["image_note"]
        assert r["config"]["db_options"] == {"dead-after-ms": 3000}
        mine = docker_client.containers.run(tag, ["cat", "/etc/user-image"], network_mode="none", remove=True)
        assert mine == b"mine\n"

        p = harness_run(tmp_path, "--image", tag, "--nemesis", "none", "--time-limit", "3",
                        "--db-opt", "dead-after-ms=3000", "--subnet", subnet, *SHORT)
        assert p.returncode == 0, p.stdout + p.stderr
        _, r = results_of(tmp_path)
        assert r["platform"]["image"] == tag and r["platform"]["image_note"] is None
        assert leftovers(r["run_id"]) == []
    finally:
        docker_client.images.remove(tag)

    runs = sorted((tmp_path / "results").rglob("results.json"))
    p = harness_run(tmp_path, "--image", "harness-no-such-image:1", "--subnet", subnet, *SHORT)
    assert p.returncode == 254
    assert p.stderr.count("\n") == 1 and "--image harness-no-such-image:1: no such image" in p.stderr, p.stderr
    assert sorted((tmp_path / "results").rglob("results.json")) == runs, "a refused run leaves no results"


def test_a_node_without_iptables_is_refused_naming_the_tool(tmp_path, free_subnet, docker_client,
                                                            leftovers) -> None:
    dockerfile = _dockerfile(tmp_path / "no-iptables", "RUN rm /usr/sbin/iptables")
    p = harness_run(tmp_path, "--dockerfile", str(dockerfile), "--nemesis", "partition", "--time-limit", "3",
                    "--subnet", free_subnet("10.246"), *SHORT)
    _, r = results_of(tmp_path)
    try:
        assert p.returncode == 254, p.stdout + p.stderr
        assert "node n1 has no iptables, which nemesis partition runs there" in p.stderr, p.stderr
        assert r["refused"] is True and "iptables" in r["failure"]
        assert leftovers(r["run_id"]) == []
    finally:
        docker_client.images.remove(r["platform"]["image"])


@pytest.fixture
def ssh_hosts(docker_client, tmp_path: Path, free_subnet) -> Iterator[dict[str, str]]:
    """Three containers running sshd, as if they were hosts; removed afterwards."""
    cluster = DockerCluster(docker_client, f"test-own-ssh-{secrets.token_hex(3)}", base_image(docker_client),
                            free_subnet("10.246"), 3)
    key = paramiko.RSAKey.generate(2048)
    key.write_private_key_file(str(tmp_path / "id_rsa"))
    (tmp_path / "authorized_keys").write_text(f"{key.get_name()} {key.get_base64()}\n")
    try:
        remote = cluster.create()
        known = []
        for node, address in cluster.addresses.items():
            remote.exec(node, ["mkdir", "-p", "-m", "700", "/root/.ssh"])
            remote.put(node, tmp_path / "authorized_keys", "/root/.ssh")
            assert remote.exec(node, ["sh", "-c", START_SSHD]).ok
            keys = remote.exec(node, ["sh", "-c", "cat /etc/ssh/ssh_host_*_key.pub"]).stdout.splitlines()
            known += [f"{address} {' '.join(line.split()[:2])}" for line in keys]
        (tmp_path / "known_hosts").write_text("\n".join(known) + "\n")
        (tmp_path / "nodes").write_text("".join(f"{n}={a}\n" for n, a in cluster.addresses.items()))
        yield cluster.addresses
    finally:
        assert cluster.remove() == []


def test_real_hosts_over_ssh_with_verified_host_keys(tmp_path, ssh_hosts) -> None:
    ssh = ["--nodes-file", "nodes", "--ssh-user", "root", "--ssh-key", "id_rsa"]
    p = harness_run(tmp_path, *ssh, "--nemesis", "none", "--time-limit", "2")
    assert p.returncode == 254, "no known_hosts (HOME is the temporary folder): refused before anything"
    assert "node n1" in p.stderr and "--ssh-insecure" in p.stderr, p.stderr

    p = harness_run(tmp_path, *ssh, "--ssh-known-hosts", "known_hosts", "--nemesis", "partition",
                    "--time-limit", "12", "--nemesis-interval", "3", *SHORT[2:])
    assert p.returncode == 1, p.stdout + p.stderr
    run_dir, r = results_of(tmp_path)
    assert r["platform"]["kind"] == "ssh" and r["platform"]["host_keys_checked"] is True
    assert r["platform"]["hosts"] == {n: f"{a}:22" for n, a in ssh_hosts.items()}
    assert r["problems"] == [] and r["faults"]["partition"]["injected"] >= 1
    assert r["checkers"]["linearizable"]["valid"] is False
    assert "serving on port 7100" in (run_dir / "nodes" / "n3" / "node.log").read_text()

    p = harness_run(tmp_path, *ssh, "--ssh-insecure", "--nemesis", "none", "--time-limit", "2",
                    "--db-opt", "dead-after-ms=3000")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "warning: --ssh-insecure: host keys are not checked" in p.stdout
