"""The SSH remote against real sshd in containers: the same DB and nemesis code run over it."""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from harness.containers import DockerCluster
from harness.dbs.base import Nodes
from harness.dbs.raft import RaftDB
from harness.nemesis.grudges import grudge_of
from harness.nemesis.partition import PartitionNemesis
from harness.remote.ssh import Host, SSHRemote

pytestmark = [pytest.mark.docker, pytest.mark.timeout(300)]

# Host keys come from the image, so every container would share them: make each its own.
START_SSHD = "rm -f /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null && mkdir -p /run/sshd && /usr/sbin/sshd"


@pytest.fixture
def ssh_hosts(docker_client, node_image, tmp_path: Path) -> Iterator[tuple[SSHRemote, dict[str, str]]]:
    run_id = f"test-ssh-{secrets.token_hex(3)}"
    cluster = DockerCluster(docker_client, run_id, node_image, "10.236.0.0/24", 3)
    key = paramiko.RSAKey.generate(2048)
    key_file = tmp_path / "id_rsa"
    key.write_private_key_file(str(key_file))
    auth = tmp_path / "authorized_keys"
    auth.write_text(f"{key.get_name()} {key.get_base64()}\n")
    remote = None
    try:
        docker_remote = cluster.create()
        for node in cluster.nodes:
            docker_remote.exec(node, ["mkdir", "-p", "-m", "700", "/root/.ssh"])
            docker_remote.put(node, auth, "/root/.ssh")
            r = docker_remote.exec(node, ["sh", "-c", START_SSHD])
            assert r.ok, r.stderr
        remote = SSHRemote({n: Host(a, key_file=str(key_file), strict_host_keys=False)
                            for n, a in cluster.addresses.items()})
        yield remote, cluster.addresses
    finally:
        if remote is not None:
            remote.close()
        assert cluster.remove() == []


def test_exec_timeout_put_get_spawn(ssh_hosts, tmp_path: Path) -> None:
    remote, _ = ssh_hosts
    r = remote.exec("n1", ["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (r.exit_code, r.stdout, r.stderr) == (3, "out\n", "err\n")
    assert remote.exec("n1", ["sleep", "30"], timeout=1).exit_code == 137  # killed by timeout

    folder = tmp_path / "payload"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.txt").write_text("hello")
    remote.put("n2", folder, "/tmp")
    remote.get("n2", "/tmp/payload", tmp_path / "back")
    assert (tmp_path / "back" / "payload" / "sub" / "a.txt").read_text() == "hello"

    remote.spawn("n3", "echo $$ > /tmp/spawned.pid; exec sleep 60")
    pid = remote.exec("n3", ["sh", "-c", "sleep 0.5; cat /tmp/spawned.pid"]).stdout.strip()
    assert remote.exec("n3", ["kill", "-0", pid]).ok, "the spawned process outlives the SSH session"


def test_raft_db_and_partition_nemesis_run_over_ssh(ssh_hosts) -> None:
    remote, addresses = ssh_hosts
    db = RaftDB.from_pairs()
    db.bind(Nodes(remote, addresses))
    for node in addresses:
        db.setup(node)
    leader = db.wait_ready(60)
    nemesis = PartitionNemesis(remote, addresses, db.peer_port, random.Random(0))
    others = [n for n in addresses if n != leader]
    nemesis.cut(grudge_of([[leader], others]))
    try:
        assert not nemesis.can_reach(others[0], leader)
        assert nemesis.can_reach(others[0], others[1])
    finally:
        nemesis.heal()
    assert nemesis.can_reach(others[0], leader)
    pid = db.pid(leader)
    db.kill(leader)
    assert db.process_state(leader) in (None, "Z")
    db.start(leader)
    assert db.pid(leader) != pid and db.process_state(leader) not in (None, "Z")
