"""The cluster's Docker objects: one labelled network with an explicit subnet, one container per node.

Every object carries `harness.run=<run id>`, so whatever a crashed run leaves behind can be
found and removed (`harness clean`), and labels saying who made it (user, host, harness pid,
results folder), so a clean on a shared engine removes only what is dead and was ours.
Containers are not privileged: they get NET_ADMIN only (for iptables and tc inside their own
namespace), run tini as PID 1 (`--init`) and idle on `sleep infinity`, so the node process is
an ordinary child that SIGKILL and SIGSTOP can reach.
"""

from __future__ import annotations

import getpass
import ipaddress
import logging
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors
from docker.models.containers import Container
from docker.models.networks import Network

from harness.errors import HarnessError, UsageError
from harness.remote.docker import DockerRemote

log = logging.getLogger(__name__)

RUN_LABEL = "harness.run"
USER_LABEL = "harness.user"
HOST_LABEL = "harness.host"
PID_LABEL = "harness.pid"
RESULTS_LABEL = "harness.results"
DOCKER_DEFAULT_BRIDGE = ipaddress.ip_network("172.17.0.0/16")
FIRST_HOST = 11  # node i gets the subnet's address .(10 + i); the gateway keeps .1


def connect() -> docker.DockerClient:
    """A client for the local engine, or a one-line HarnessError saying why there is none."""
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except docker.errors.DockerException as e:
        raise HarnessError(f"cannot reach the Docker engine ({e}); is dockerd running and is DOCKER_HOST right?") from e
    return client


def _network(subnet: str) -> ipaddress.IPv4Network:
    """The subnet, if it is an IPv4 network in private address space that cannot reach the host's own."""
    try:
        net = ipaddress.ip_network(subnet, strict=True)
    except ValueError as e:
        raise UsageError(f"--subnet {subnet!r} is not a network address ({e})") from e
    if net.version != 4:
        raise UsageError(f"--subnet {subnet}: only IPv4 subnets are supported")
    if not net.is_private or net.is_loopback or net.is_link_local or net.is_multicast or net.is_unspecified \
            or net.is_reserved or net.prefixlen < 8:
        raise UsageError(f"--subnet {subnet}: not a private network (use one inside 10.0.0.0/8, 172.16.0.0/12 "
                         "or 192.168.0.0/16)")
    if net.overlaps(DOCKER_DEFAULT_BRIDGE):
        raise UsageError(f"--subnet {subnet} overlaps Docker's default bridge 172.17.0.0/16")
    return net


def node_addresses(subnet: str, count: int) -> dict[str, str]:
    """Node names n1..nN and their fixed addresses in the subnet."""
    net = _network(subnet)
    if net.num_addresses < FIRST_HOST + count + 1:
        raise UsageError(f"--subnet {subnet} is too small for {count} nodes")
    return {f"n{i}": str(net.network_address + FIRST_HOST + i - 1) for i in range(1, count + 1)}


def host_routes() -> list[ipaddress.IPv4Network]:
    """The IPv4 networks the host routes to directly (its own interfaces' subnets), from /proc/net/route."""
    try:
        lines = Path("/proc/net/route").read_text().splitlines()[1:]
    except OSError:
        return []
    nets = []
    for line in lines:
        fields = line.split()
        if len(fields) < 8 or (fields[1] == "00000000" and fields[7] == "00000000"):
            continue  # the default route says nothing about which addresses are in use
        try:
            dest = ipaddress.IPv4Address(int(fields[1], 16).to_bytes(4, "little"))
            mask = ipaddress.IPv4Address(int(fields[7], 16).to_bytes(4, "little"))
            nets.append(ipaddress.IPv4Network(f"{dest}/{mask}", strict=False))
        except ValueError:
            continue
    return nets


def check_subnet(client: docker.DockerClient, subnet: str) -> None:
    """Refuse a subnet that another Docker network or a host route already uses: the run's
    traffic would reach (or be confused with) machines that are not the test's."""
    net = _network(subnet)
    docker_subnets = set()
    for other in client.networks.list():
        for cfg in (other.attrs.get("IPAM") or {}).get("Config") or []:
            try:
                used = ipaddress.ip_network(cfg.get("Subnet", ""), strict=False)
            except ValueError:
                continue
            docker_subnets.add(used)
            if used.version == 4 and net.overlaps(used):
                raise UsageError(f"--subnet {subnet} overlaps Docker network {other.name} ({used}); "
                                 "choose another with --subnet")
    for route in host_routes():
        if net.overlaps(route) and route not in docker_subnets:
            raise UsageError(f"--subnet {subnet} overlaps the host's route to {route}; choose another with --subnet")


def free_subnet(client: docker.DockerClient, prefix: str) -> str:
    """A /24 under `prefix` (e.g. "10.241") that passes `check_subnet` right now.

    Fixed subnets collide when two runs or test sessions share an engine; looking first makes
    that unlikely, though not impossible (another run may take it before this one starts).
    """
    for third in range(256):
        subnet = f"{prefix}.{third}.0/24"
        try:
            check_subnet(client, subnet)
        except UsageError:
            continue
        return subnet
    raise HarnessError(f"no free /24 under {prefix}.0.0/16")


def owner_labels(results_root: Path | None = None) -> dict[str, str]:
    """Who made an object: user, host, the harness's pid and its results folder."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    labels = {USER_LABEL: user, HOST_LABEL: socket.gethostname(), PID_LABEL: str(os.getpid())}
    if results_root is not None:
        labels[RESULTS_LABEL] = str(results_root.resolve())
    return labels


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
    remote: DockerRemote | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.addresses = node_addresses(self.subnet, self.count)

    @property
    def nodes(self) -> list[str]:
        return list(self.addresses)

    owner: dict[str, str] = field(default_factory=owner_labels)

    @property
    def labels(self) -> dict[str, str]:
        return {RUN_LABEL: self.run_id, **self.owner}

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
        self.remote = DockerRemote(self.containers)
        return self.remote

    def remove(self) -> list[str]:
        """Remove containers and network; returns problems instead of raising, so teardown goes on."""
        problems = []
        if self.remote is not None:
            self.remote.close()
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


def _alive(labels: dict[str, str]) -> bool:
    """Whether the harness that made an object still runs (only knowable on its own host)."""
    if labels.get(HOST_LABEL) != socket.gethostname():
        return True  # another machine's run: assume it lives
    try:
        pid = int(labels.get(PID_LABEL, ""))
    except ValueError:
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    return True


def clean(client: docker.DockerClient, run_id: str | None = None, results_root: Path | None = None,
          everything: bool = False) -> tuple[int, int, list[str]]:
    """Remove harness-labelled containers and networks; returns counts and the run ids removed.

    `run_id`: that run's objects only. `everything`: every harness-labelled object on the engine.
    Otherwise only dead runs that are ours: made by this user, or from `results_root`, by a
    harness process that is no longer running (objects of live runs, and other users' runs on a
    shared engine, are left alone).
    """
    selector = f"{RUN_LABEL}={run_id}" if run_id else RUN_LABEL
    containers = client.containers.list(all=True, filters={"label": selector})
    networks = client.networks.list(filters={"label": selector})
    if run_id is None and not everything:
        me = owner_labels(results_root)

        def ours(labels: dict[str, str]) -> bool:
            mine = labels.get(USER_LABEL) == me[USER_LABEL] or (
                results_root is not None and labels.get(RESULTS_LABEL) == me.get(RESULTS_LABEL))
            return mine and not _alive(labels)

        containers = [c for c in containers if ours(c.labels)]
        networks = [n for n in networks if ours(n.attrs.get("Labels") or {})]
    runs = sorted({c.labels.get(RUN_LABEL, "") for c in containers}
                  | {(n.attrs.get("Labels") or {}).get(RUN_LABEL, "") for n in networks})
    for c in containers:
        c.remove(force=True)
    for n in networks:
        n.remove()
    return len(containers), len(networks), runs
