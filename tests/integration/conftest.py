"""Fixtures for the real-container tests: a started cluster, free subnets, leftovers."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import clusters
import pytest


@pytest.fixture
def leftovers(docker_client) -> Callable[[str], list[str]]:
    """Names of containers and networks still labelled with a run."""
    return lambda run_id: clusters.leftovers(docker_client, run_id)


@pytest.fixture
def raft_cluster(docker_client, node_image, free_subnet) -> Iterator[clusters.Cluster]:
    """Three running Raft nodes with a leader, removed afterwards."""
    with clusters.started_cluster(docker_client, node_image, free_subnet("10.232"), 3) as c:
        yield c


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
