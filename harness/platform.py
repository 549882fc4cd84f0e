"""Where a test's nodes come from: fresh containers on the local Docker engine, or hosts over SSH.

The run asks a platform for nodes and gives them back; it never knows which it has. Each
platform checks its own settings before anything is created (`check`), so a refused run leaves
nothing behind, and records what it used (`describe`) in results.json.
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.dbs.base import DB, Nodes
from harness.errors import UsageError

log = logging.getLogger(__name__)

DEFAULT_SUBNET = "10.231.0.0/24"


class Platform(ABC):
    kind: str

    @abstractmethod
    def check(self, count: int) -> None:
        """Refuse (UsageError) settings that cannot work for `count` nodes, before anything is created."""

    @abstractmethod
    def prepare(self, db: DB, say: Callable[[str], None]) -> None:
        """Make what the nodes need before they exist (images); may take a while, says what it did."""

    @abstractmethod
    def create(self, run_id: str, count: int) -> Nodes:
        """The nodes of one run, labelled with `run_id` where the platform can label things."""

    @abstractmethod
    def remove(self) -> list[str]:
        """Give the nodes back; returns problems instead of raising, so teardown goes on. Idempotent."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """What results.json records about where the run ran."""


@dataclass
class DockerPlatform(Platform):
    """One labelled, internal bridge network with an explicit subnet, and a container per node.

    The image is, in order: `image` (a local image the user names), an image built from the
    user's `dockerfile` (its FROM replaced by our base image when that FROM cannot be had
    offline), or the system's own (`DB.image`).
    """

    subnet: str = DEFAULT_SUBNET
    image: str | None = None
    dockerfile: Path | None = None
    base_image: str | None = None
    kind = "docker"
    _client: Any = field(default=None, init=False, repr=False)
    _cluster: Any = field(default=None, init=False, repr=False)
    _tag: str | None = field(default=None, init=False)
    _image_note: str | None = field(default=None, init=False)

    def _docker(self) -> Any:
        if self._client is None:
            from harness.containers import connect

            self._client = connect()
        return self._client

    def check(self, count: int) -> None:
        from harness.containers import check_subnet, node_addresses

        node_addresses(self.subnet, count)
        if self.dockerfile is not None and not self.dockerfile.is_file():
            raise UsageError(f"--dockerfile {self.dockerfile}: no such file")
        client = self._docker()
        check_subnet(client, self.subnet)
        if self.image is not None:
            from harness.image import image_exists

            if not image_exists(client, self.image):
                raise UsageError(f"--image {self.image}: no such image on this Docker engine (images are not "
                                 "pulled: build or load it first, or give --dockerfile)")

    def prepare(self, db: DB, say: Callable[[str], None]) -> None:
        from harness.image import Images

        images = Images(self._docker(), self.base_image)
        if self.image is not None:
            self._tag = self.image
        elif self.dockerfile is not None:
            self._tag, self._image_note = images.from_dockerfile(self.dockerfile)
        else:
            self._tag = db.image(images)
        say(f"image {self._tag} ready" + (f" ({self._image_note})" if self._image_note else ""))

    def create(self, run_id: str, count: int) -> Nodes:
        from harness.containers import DockerCluster

        assert self._tag is not None, "prepare() first"
        self._cluster = DockerCluster(self._docker(), run_id, self._tag, self.subnet, count)
        remote = self._cluster.create()
        return Nodes(remote, self._cluster.addresses)

    def remove(self) -> list[str]:
        return self._cluster.remove() if self._cluster is not None else []

    def engine_version(self) -> str | None:
        return self._docker().version().get("Version")

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "subnet": self.subnet, "image": self._tag, "image_note": self._image_note,
                "dockerfile": str(self.dockerfile) if self.dockerfile else None, "engine": self.engine_version()}


_HOST_LINE = re.compile(r"^(?:(?P<name>[A-Za-z0-9_.-]+)\s*=\s*)?(?P<address>\[[0-9A-Fa-f:.]+\]|[^\s:=]+)"
                        r"(?::(?P<port>\d+))?$")


def read_nodes_file(path: Path) -> list[tuple[str, str, int]]:
    """Hosts from a file: one `[name=]address[:port]` per line (IPv6 in brackets), `#` comments.

    Nodes without a name are called n1, n2, ... in file order. Errors name the file and line.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"--nodes-file {path}: cannot read it ({e})") from e
    hosts: list[tuple[str, str, int]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = _HOST_LINE.match(line)
        port = int(m.group("port")) if m and m.group("port") else 22
        if m is None or not 0 < port < 65536:
            raise UsageError(f"{path} line {number}: expected [name=]address[:port], got {line!r}")
        name = m.group("name") or f"n{len(hosts) + 1}"
        hosts.append((name, m.group("address").strip("[]"), port))
    names = [h[0] for h in hosts]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise UsageError(f"{path}: node name {duplicate} appears twice")
    if not hosts:
        raise UsageError(f"{path}: no hosts in it")
    return hosts


@dataclass
class SSHPlatform(Platform):
    """Real hosts, reached over SSH (paramiko), listed in a nodes file. Nothing is created or removed:
    the DB installs itself on them and tears itself down; the faults are healed as anywhere else.

    Host keys are checked against `known_hosts` (default: the user's ~/.ssh/known_hosts) unless
    `insecure` (then any key is accepted, with a warning: a man in the middle could run the test,
    and read what it writes).
    """

    nodes_file: Path
    user: str = "root"
    key_file: str | None = None
    insecure: bool = False
    known_hosts: Path | None = None
    kind = "ssh"
    hosts: list[tuple[str, str, int]] = field(default_factory=list, init=False)
    _remote: Any = field(default=None, init=False, repr=False)

    def check(self, count: int) -> None:
        self.hosts = read_nodes_file(self.nodes_file)
        if len(self.hosts) != count:
            raise UsageError(f"--nodes {count} but --nodes-file {self.nodes_file} lists {len(self.hosts)} hosts; "
                             "leave --nodes out or make them agree")
        if self.key_file is not None and not Path(self.key_file).expanduser().is_file():
            raise UsageError(f"--ssh-key {self.key_file}: no such file")
        if not self.insecure:
            self._check_known_hosts()

    def _check_known_hosts(self) -> None:
        """Every host must have a key in known_hosts: say which does not, before anything starts."""
        import paramiko

        path = (self.known_hosts or Path("~/.ssh/known_hosts")).expanduser()
        if self.known_hosts is not None and not path.is_file():
            raise UsageError(f"--ssh-known-hosts {self.known_hosts}: no such file")
        try:
            keys = paramiko.HostKeys(str(path)) if path.is_file() else paramiko.HostKeys()
        except (OSError, paramiko.SSHException) as e:
            raise UsageError(f"{path}: cannot read it as known_hosts ({e})") from e
        for name, address, port in self.hosts:
            entry = address if port == 22 else f"[{address}]:{port}"
            if keys.lookup(entry) is None:
                raise UsageError(f"node {name} ({entry}) has no key in {path}: add it (ssh-keyscan -p {port} "
                                 f"{address} >> {path}, after checking it), or pass --ssh-insecure")

    def prepare(self, db: DB, say: Callable[[str], None]) -> None:
        if self.insecure:
            say("warning: --ssh-insecure: host keys are not checked; anyone between here and the hosts could "
                "pose as them")

    def create(self, run_id: str, count: int) -> Nodes:
        from harness.remote.ssh import Host, SSHRemote

        key = str(Path(self.key_file).expanduser()) if self.key_file else None
        known = str(self.known_hosts.expanduser()) if self.known_hosts else None
        remote_hosts = {name: Host(address, port, self.user, key, strict_host_keys=not self.insecure,
                                   known_hosts=known) for name, address, port in self.hosts}
        self._remote = SSHRemote(remote_hosts)
        return Nodes(self._remote, {name: address for name, address, _ in self.hosts})

    def remove(self) -> list[str]:
        if self._remote is not None:
            self._remote.close()
        return []

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "nodes_file": str(self.nodes_file), "user": self.user,
                "hosts": {name: f"{address}:{port}" for name, address, port in self.hosts},
                "host_keys_checked": not self.insecure,
                "known_hosts": str(self.known_hosts) if self.known_hosts else "~/.ssh/known_hosts"}

