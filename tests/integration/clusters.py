"""A started Raft cluster for tests, and what a run leaves on Docker.

Imported by the conftest and by module-scoped fixtures alike (pytest puts this folder on
sys.path), so every test cluster is made and removed, and checked to be gone, the same way.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import docker

from harness.containers import RUN_LABEL, DockerCluster
from harness.dbs.base import Nodes
from harness.dbs.raft import RaftDB
from harness.remote.docker import DockerRemote


def leftovers(client: docker.DockerClient, run_id: str) -> list[str]:
    """Names of containers and networks still labelled with this run."""
    selector = {"label": f"{RUN_LABEL}={run_id}"}
    return [c.name for c in client.containers.list(all=True, filters=selector)] + [
        n.name for n in client.networks.list(filters=selector)
    ]


@dataclass
class Cluster:
    cluster: DockerCluster
    remote: DockerRemote
    db: RaftDB

    @property
    def addresses(self) -> dict[str, str]:
        return self.cluster.addresses


@contextmanager
def started_cluster(
    client: docker.DockerClient, image: str, subnet: str, count: int, prefix: str = "test",
    db_opts: tuple[str, ...] = (), clock_hook: bool = False,
) -> Iterator[Cluster]:
    """Running Raft nodes (with `--db-opt` pairs, and the clock hook if asked) with a leader; removed
    afterwards, and checked to be gone."""
    run_id = f"{prefix}-{secrets.token_hex(4)}"
    cluster = DockerCluster(client, run_id, image, subnet, count)
    try:
        remote = cluster.create()
        db = RaftDB.from_pairs(db_opts)
        if clock_hook:
            db.enable_clock_hook()
        db.bind(Nodes(remote, cluster.addresses))
        for node in cluster.nodes:
            db.setup(node)
        db.wait_ready(60)
        yield Cluster(cluster, remote, db)
    finally:
        assert cluster.remove() == []
        assert leftovers(client, run_id) == []
