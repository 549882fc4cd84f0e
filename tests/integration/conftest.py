"""Helpers for the real-container tests: a started cluster, and what a run leaves on Docker."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import docker
import pytest

from harness.containers import RUN_LABEL, DockerCluster
from harness.dbs.raft import RaftDB
from harness.remote.docker import DockerRemote


def _leftovers(client: docker.DockerClient, run_id: str) -> list[str]:
    selector = {"label": f"{RUN_LABEL}={run_id}"}
    return [c.name for c in client.containers.list(all=True, filters=selector)] + [
        n.name for n in client.networks.list(filters=selector)
    ]


@pytest.fixture
def leftovers(docker_client) -> Callable[[str], list[str]]:
    """Names of containers and networks still labelled with a run."""
    return lambda run_id: _leftovers(docker_client, run_id)


@dataclass
class Cluster:
    cluster: DockerCluster
    remote: DockerRemote
    db: RaftDB


@pytest.fixture
def raft_cluster(docker_client, node_image) -> Iterator[Cluster]:
    """Three running Raft nodes with a leader; removed afterwards, and checked to be gone."""
    run_id = f"test-{secrets.token_hex(4)}"
    cluster = DockerCluster(docker_client, run_id, node_image, "10.232.0.0/24", 3)
    try:
        remote = cluster.create()
        db = RaftDB(remote, cluster.addresses)
        for node in cluster.nodes:
            db.setup(node)
        db.wait_ready(60)
        yield Cluster(cluster, remote, db)
    finally:
        assert cluster.remove() == []
        assert _leftovers(docker_client, run_id) == []


@pytest.fixture(scope="session")
def free_subnet(docker_client) -> Callable[[str], str]:
    """A /24 under `prefix` (e.g. "10.241") that no Docker network uses right now.

    Fixed subnets collide when two copies of the suite run at once on one engine (two engineers,
    or CI beside a developer); looking first makes that unlikely, though not impossible.
    """

    def pick(prefix: str) -> str:
        used = {cfg.get("Subnet") for n in docker_client.networks.list()
                for cfg in (n.attrs.get("IPAM") or {}).get("Config") or []}
        for third in range(256):
            subnet = f"{prefix}.{third}.0/24"
            if subnet not in used:
                return subnet
        raise RuntimeError(f"no free /24 under {prefix}")

    return pick
