"""Abilities a system under test may declare, beyond the core (`harness.dbs.base.DB`).

A system declares an ability by inheriting its class; a fault that needs one names it in its
`requires`, and a run whose system lacks it is refused before anything starts. Keeping them
apart (as Jepsen's db.clj does with Kill, Pause, Primary and LogFiles) means a new system
implements only what it can, and the refusal says exactly what is missing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod


class Process(ABC):
    """The system's process on a node can be killed, paused, resumed and inspected.

    Kill and pause faults reach exactly this process (never the container: a restarted
    container loses its network namespace, and with it every other fault's state).
    """

    label = "process control (kill, pause, resume the node's process)"

    @abstractmethod
    def start(self, node: str) -> None: ...

    @abstractmethod
    def kill(self, node: str) -> None:
        """SIGKILL the node's process; its data stays for the next `start`."""

    @abstractmethod
    def pause(self, node: str) -> None:
        """SIGSTOP the node's process."""

    @abstractmethod
    def resume(self, node: str) -> None:
        """SIGCONT the node's process."""

    @abstractmethod
    def pid(self, node: str) -> int | None:
        """The process id on the node, or None if it is not running."""

    @abstractmethod
    def process_state(self, node: str) -> str | None:
        """The kernel's state letter (R, S, D, T, Z, ...), or None if the process is gone."""


class Primaries(ABC):
    """The system can say which nodes currently believe they lead (several, during a partition).

    Faults aimed at "the leader" need this; without it they fall back to random nodes.
    """

    label = "primaries (which node leads)"

    @abstractmethod
    def primaries(self) -> list[str]: ...


class ClockHook(ABC):
    """The system's processes can run under a per-node wall-clock offset (libfaketime).

    The hook costs throughput (libfaketime re-reads its offset file on every intercepted call),
    so it is off unless a clock fault asks for it, before the nodes start.
    """

    label = "clock hook (run the node's process under a skewable wall clock)"

    @abstractmethod
    def enable_clock_hook(self) -> None:
        """Start processes under the hook from now on (called before `setup`)."""

    @property
    @abstractmethod
    def faketime_file(self) -> str | None:
        """The file on each node holding the offset its process sees, or None while the hook is off."""


ABILITIES: tuple[type, ...] = (Process, Primaries, ClockHook)


def missing(db: object, needed: tuple[type, ...]) -> list[type]:
    """The abilities in `needed` that `db` does not declare."""
    return [a for a in needed if not isinstance(db, a)]


def declared(db: object) -> list[str]:
    """The names of the abilities a system (instance or class) declares, for `harness list`."""
    cls = db if isinstance(db, type) else type(db)
    return [a.__name__ for a in ABILITIES if issubclass(cls, a)]
