"""What the harness needs from any system under test: a small core. Everything else is an ability.

Like Jepsen's `db.clj`, the core is what every system must do to be tested at all: say which
image its nodes run, install and start itself on a node, wait until the cluster serves
clients, hand over its log files, tear itself down, and open a client connection to a node.
What only some systems can do (have their processes killed and paused, name their leader, run
under a skewed clock) is declared separately in `harness.dbs.abilities`, so a fault that needs
an ability the chosen system lacks is refused before anything starts, with a reason.

A new system is one class: subclass `DB` (or `harness.dbs.daemon.DaemonDB`, which does the
pidfile work for a system that runs as one process per node), name it, declare its options,
and point `harness run --db path/to/file.py:ClassName` at it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Self

from contract.client import Connection
from contract.options import Option, parse_pairs
from harness.remote.base import Remote

if TYPE_CHECKING:
    from harness.image import Images


@dataclass(frozen=True)
class Nodes:
    """The machines a run's cluster lives on: how commands reach them, and their addresses."""

    remote: Remote
    addresses: dict[str, str]

    @property
    def names(self) -> list[str]:
        return list(self.addresses)


class DB(ABC):
    """A system under test. Options arrive parsed (see `contract.options`); nodes arrive at `bind`.

    Class attributes a subclass sets:
    - `name`, `description`: what `harness list` shows.
    - `options`: the settings `--db-opt KEY=VALUE` may give (validated before anything starts).
    - `connection`: the class `connect` returns; a workload checks it has the operations it needs.
    - `min_nodes`: the smallest cluster that makes sense (a consensus system needs 3 to lose one).
    - `peer_port`: the TCP port nodes talk to each other on, if any; partitions probe it to show
      that a cut is in force (without one, they probe a closed port: refused means reachable).
    - `lacks`: for abilities the system does not have, a sentence saying why, shown when a fault
      that needs one is refused (e.g. a Go binary cannot be clock-skewed through libc).
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    options: ClassVar[Sequence[Option]] = ()
    connection: ClassVar[type]
    min_nodes: ClassVar[int] = 1
    peer_port: ClassVar[int | None] = None
    lacks: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def from_pairs(cls, pairs: Sequence[str] = ()) -> Self:
        """Built from "KEY=VALUE" strings, defaults for the rest (OptionError names a bad pair)."""
        return cls(parse_pairs(pairs, cls.options, "--db-opt", f"db {cls.name}"))

    def __init__(self, options: Mapping[str, Any]) -> None:
        """`options` holds a value for every declared option. Raise UsageError for combinations
        that cannot work, so they are refused before any container starts."""
        self.opts = dict(options)
        self._nodes: Nodes | None = None

    def bind(self, nodes: Nodes) -> None:
        """Learn the cluster the system will run on; called once, before `setup`."""
        self._nodes = nodes

    @property
    def nodes(self) -> Nodes:
        if self._nodes is None:
            raise RuntimeError(f"db {self.name} is not bound to a cluster yet")
        return self._nodes

    @property
    def remote(self) -> Remote:
        return self.nodes.remote

    @property
    def addresses(self) -> dict[str, str]:
        return self.nodes.addresses

    def image(self, images: Images) -> str:
        """The Docker image the nodes run (built or found by `images`). Default: the harness's base
        image, which has the tools every fault needs (iptables, iproute2, procps, libfaketime)."""
        return images.base()

    def settings(self) -> dict[str, Any]:
        """What results.json records about this system: its options as JSON-able values."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.opts.items()}

    @abstractmethod
    def setup(self, node: str) -> None:
        """Install and start the system on a fresh node."""

    @abstractmethod
    def start(self, node: str) -> None:
        """(Re)start the node's system on its existing data."""

    @abstractmethod
    def teardown(self, node: str) -> None:
        """Stop the system on the node and remove its data."""

    @abstractmethod
    def wait_ready(self, timeout: float) -> str | None:
        """Block until the cluster serves clients; return the node to send final reads to (its
        leader, if it has one), or None for any node. Raise HarnessError after `timeout` s."""

    @abstractmethod
    def log_files(self, node: str) -> list[str]:
        """Paths on the node of the logs worth keeping with the results."""

    @abstractmethod
    def connect(self, node: str, timeout: float) -> Connection:
        """A client connection to the node; each call bounded by `timeout` seconds."""
