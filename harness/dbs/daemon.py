"""A system that runs as one process per node: the pidfile work every such system needs, once.

The process is started as a detached child of the container's init (never PID 1: inside a
container, SIGKILL and SIGSTOP to PID 1 are ignored), through a shell that writes its own pid
to a file and then `exec`s the system, so the pidfile names the system's process itself and
kill, pause and resume reach exactly it. A subclass says what to run (`command`) and where its
data and log live; it gets process control (the `Process` ability) for free, and the clock hook
by also inheriting `LibfaketimeClock`.
"""

from __future__ import annotations

import re
import time
from abc import abstractmethod
from typing import Any, ClassVar

from harness.dbs.abilities import ClockHook, Process
from harness.dbs.base import DB
from harness.errors import HarnessError
from harness.remote.base import RemoteError, shell, signal

CLOCK_FILE = "/var/run/harness-clock"
_PROCESS_LINE = re.compile(r"^pid=(?P<pid>\d*) state=(?P<state>\S*) end$", re.M)


class LibfaketimeClock(ClockHook):
    """The clock hook for a daemon whose clock reads go through libc (not a Go binary).

    The process is started with libfaketime preloaded, reading its offset from `CLOCK_FILE` on
    every call (FAKETIME_NO_CACHE), with the monotonic clock left real: libfaketime's monotonic
    faking hangs Python's timed waits (its issues #390 and #426). The clock nemesis rewrites the
    file while the process runs. Offset 0 is real time.
    """

    _clock_hook = False

    def enable_clock_hook(self) -> None:
        self._clock_hook = True

    @property
    def faketime_file(self) -> str | None:
        return CLOCK_FILE if self._clock_hook else None

    def clock_prelude(self) -> str:
        """Shell that exports the libfaketime environment (if the library is installed), or ""."""
        if not self._clock_hook:
            return ""
        return ('lib=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n 1); '
                f'[ -s {CLOCK_FILE} ] || echo +0.000 > {CLOCK_FILE}; '
                f'[ -z "$lib" ] || export LD_PRELOAD="$lib" FAKETIME_TIMESTAMP_FILE={CLOCK_FILE} '
                'FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1; ')


class DaemonDB(DB, Process):
    """A DB whose node is one long-running process; subclasses define `command`."""

    data_dir: ClassVar[str] = "/var/lib/harness-db"
    log_file: ClassVar[str] = "/var/log/harness-db/node.log"
    pid_file: ClassVar[str] = "/var/run/harness-db.pid"
    start_timeout: ClassVar[float] = 30.0  # generous: on a loaded machine a cold Python start takes seconds

    @abstractmethod
    def command(self, node: str) -> list[str]:
        """The argv that runs the system on `node` in the foreground (its output goes to the log).

        Spell out the environment with `env K=V ...` where it matters: an SSH session does not
        get an image's ENV lines."""

    def settings(self) -> dict[str, Any]:
        out = super().settings()
        if isinstance(self, LibfaketimeClock):
            out["clock_hook"] = self.faketime_file is not None
        return out

    def setup(self, node: str) -> None:
        log_dir = self.log_file.rsplit("/", 1)[0] or "/"
        r = self.remote.exec(node, ["mkdir", "-p", self.data_dir, log_dir])
        if not r.ok:
            raise HarnessError(f"{node}: cannot create {self.data_dir} and {log_dir}: {r.stderr.strip()}")
        self.start(node)

    def start(self, node: str) -> None:
        prelude = self.clock_prelude() if isinstance(self, LibfaketimeClock) else ""
        self.remote.spawn(node, f"echo $$ > {self.pid_file}; {prelude}exec {shell(self.command(node))} "
                                f">> {self.log_file} 2>&1")
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process_state(node) not in (None, "Z"):
                return
            time.sleep(0.05)
        raise HarnessError(f"{node}: {self.name} did not start; see {self.log_file} in its logs")

    def teardown(self, node: str) -> None:
        self.kill(node)
        self.remote.exec(node, ["rm", "-rf", self.data_dir])

    def log_files(self, node: str) -> list[str]:
        return [self.log_file]

    def _process(self, node: str) -> tuple[int | None, str | None]:
        """The pid in the pidfile and the kernel's state letter for it (None, None: not running).

        One command whose output always ends in a marker line: the Docker engine on a loaded
        machine now and then returns an exec's exit code 0 with its output lost (about 1 in 800
        `cat`s under load), which read as "no pid" would make a heal start a second copy beside a
        running one. Without the marker the answer is unknown: asked again, then RemoteError.
        """
        script = (f'pid=$(cat {self.pid_file} 2>/dev/null); state=; '
                  '[ -n "$pid" ] && state=$(ps -o stat= -p "$pid" | tr -d " "); echo "pid=$pid state=$state end"')
        for _ in range(3):
            r = self.remote.exec(node, ["sh", "-c", script], timeout=10)
            m = _PROCESS_LINE.search(r.stdout)
            if m is not None:
                return (int(m["pid"]) if m["pid"] else None), (m["state"][:1] or None)
        raise RemoteError(f"{node}: cannot tell whether {self.name} runs: the state query's output came back "
                          f"without its end marker three times (last: {r.stdout.strip()[:80]!r})")

    def pid(self, node: str) -> int | None:
        return self._process(node)[0]

    def process_state(self, node: str) -> str | None:
        return self._process(node)[1]

    def _signal(self, node: str, sig: str) -> None:
        pid = self.pid(node)
        if pid is not None:
            signal(self.remote, node, pid, sig)

    def kill(self, node: str) -> None:
        self._signal(node, "KILL")

    def pause(self, node: str) -> None:
        self._signal(node, "STOP")

    def resume(self, node: str) -> None:
        self._signal(node, "CONT")
