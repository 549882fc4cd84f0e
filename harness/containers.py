"""The cluster's Docker objects: one labelled network with an explicit subnet, one container per node.

Every object carries `harness.run=<run id>`, so whatever a crashed run leaves behind can be
found and removed (`harness clean`). Containers are not privileged: they get NET_ADMIN only
(for iptables and tc inside their own namespace), run tini as PID 1 (`--init`) and idle on
`sleep infinity`, so the node process is an ordinary child that SIGKILL and SIGSTOP can reach.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, field

import docker
import docker.errors
from docker.models.containers import Container
from docker.models.networks import Network

from harness.errors import HarnessError, UsageError
from harness.remote.docker import DockerRemote

log = logging.getLogger(__name__)

RUN_LABEL = "harness.run"
FIRST_HOST = 11  # node i gets the subnet's address .(10 + i); the gateway keeps .1


def connect() -> docker.DockerClient:
    """A client for the local engine, or a one-line HarnessError saying why there is none."""
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except docker.errors.DockerException as e:
        raise HarnessError(f"cannot reach the Docker engine ({e}); is dockerd running and is DOCKER_HOST right?") from e
    return client


def node_addresses(subnet: str, count: int) -> dict[str, str]:
    """Node names n1..nN and their fixed addresses in the subnet."""
    try:
        net = ipaddress.ip_network(subnet, strict=True)
    except ValueError as e:
        raise UsageError(f"--subnet {subnet!r} is not a network address ({e})") from e
    if net.version != 4:
        raise UsageError(f"--subnet {subnet}: only IPv4 subnets are supported")
    if net.num_addresses < FIRST_HOST + count + 1:
        raise UsageError(f"--subnet {subnet} is too small for {count} nodes")
    return {f"n{i}": str(net.network_address + FIRST_HOST + i - 1) for i in range(1, count + 1)}


@dataclass
class DockerCluster:
    """The network and containers of one run; `remove()` is safe to call at any point, repeatedly."""

    client: docker.DockerClient
    run_id: str
    image: str
    subnet: str
    count: int
    addresses: dict[str, str] = field(init=False)
    network: Network | None = field(init=False, default=None)
    containers: dict[str, Container] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.addresses = node_addresses(self.subnet, self.count)

    @property
    def nodes(self) -> list[str]:
        return list(self.addresses)

    @property
    def labels(self) -> dict[str, str]:
        return {RUN_LABEL: self.run_id}

    def create(self) -> DockerRemote:
        net = ipaddress.ip_network(self.subnet)
        pool = docker.types.IPAMPool(subnet=self.subnet, gateway=str(net.network_address + 1))
        try:
            self.network = self.client.networks.create(
                f"harness-{self.run_id}",
                driver="bridge",
                internal=True,
                labels=self.labels,
                ipam=docker.types.IPAMConfig(pool_configs=[pool]),
            )
        except docker.errors.APIError as e:
            hint = " (choose another with --subnet)" if "overlap" in str(e).lower() else ""
            raise HarnessError(f"cannot create network on {self.subnet}: {e.explanation}{hint}") from e
        for node, address in self.addresses.items():
            endpoint = self.client.api.create_endpoint_config(ipv4_address=address)
            try:
                self.containers[node] = self.client.containers.run(
                    self.image,
                    command=["sleep", "infinity"],
                    name=f"harness-{self.run_id}-{node}",
                    hostname=node,
                    labels={**self.labels, "harness.node": node},
                    detach=True,
                    init=True,
                    cap_add=["NET_ADMIN"],
                    network=self.network.name,
                    networking_config={self.network.name: endpoint},
                )
            except docker.errors.APIError as e:
                raise HarnessError(f"cannot start container for {node}: {e.explanation}") from e
        return DockerRemote(self.containers)

    def remove(self) -> list[str]:
        """Remove containers and network; returns problems instead of raising, so teardown goes on."""
        problems = []
        for node, container in list(self.containers.items()):
            try:
                container.remove(force=True)
                del self.containers[node]
            except docker.errors.NotFound:
                del self.containers[node]
            except docker.errors.APIError as e:
                problems.append(f"container {node}: {e.explanation}")
        if self.network is not None:
            try:
                self.network.remove()
                self.network = None
            except docker.errors.NotFound:
                self.network = None
            except docker.errors.APIError as e:
                problems.append(f"network: {e.explanation}")
        return problems


def clean(client: docker.DockerClient, run_id: str | None = None) -> tuple[int, int]:
    """Remove every container and network labelled by the harness (or by one run); returns counts."""
    selector = f"{RUN_LABEL}={run_id}" if run_id else RUN_LABEL
    containers = client.containers.list(all=True, filters={"label": selector})
    for c in containers:
        c.remove(force=True)
    networks = client.networks.list(filters={"label": selector})
    for n in networks:
        n.remove()
    return len(containers), len(networks)
