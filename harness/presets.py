"""Bug presets: a seeded bug named on the command line brings the setup that exposes it.

A system may declare a bug table (`bugs = ({"name": ..., "args": [harness run arguments]}, ...)`,
as `harness list --db NAME --json` shows it). A bug is practically never visible under the default
options, workload and faults, so naming it (`--bug X`, `--db-opt bug=X`) fills in whatever its row
gives that the user did not: DB options key by key, the workload and its options, the faults. What
the user gave always wins. Several bugs fill only what all their rows agree on. The filled
arguments are appended to the recorded command line, so a replay does not depend on presets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Setup:
    """Run options as given (None / empty: not given): DB options and workload options by key."""

    db_opts: dict[str, str] = field(default_factory=dict)
    workload: str | None = None
    workload_opts: dict[str, str] = field(default_factory=dict)
    nemesis: str | None = None

    def args(self) -> list[str]:
        """As `harness run` arguments."""
        out = [a for k, v in self.db_opts.items() for a in ("--db-opt", f"{k}={v}")]
        out += ["--workload", self.workload] if self.workload is not None else []
        out += [a for k, v in self.workload_opts.items() for a in ("--workload-opt", f"{k}={v}")]
        return out + (["--nemesis", self.nemesis] if self.nemesis is not None else [])


def by_key(pairs: Sequence[str]) -> dict[str, str]:
    """KEY=VALUE strings as a dict (a repeated key: the last wins, as when options are parsed)."""
    return dict(p.split("=", 1) if "=" in p else (p, "") for p in pairs)


def bugs_named(db_opts: Sequence[str]) -> list[str]:
    """The seeded bugs a run's DB options name (`bug=a,b` or repeated `bug=`)."""
    return [b.strip() for p in db_opts if p.startswith("bug=") for b in p[4:].split(",") if b.strip()]


def agreed(rows: Sequence[Setup]) -> tuple[Setup, list[str]]:
    """What every row says alike, and what some say differently (or only some say), by option name."""
    if not rows:
        return Setup(), []
    differ: list[str] = []

    def common(maps: list[dict[str, str]], flag: str) -> dict[str, str]:
        keys = dict.fromkeys(k for m in maps for k in m)
        same = {k: maps[0][k] for k in keys if all(k in m and m[k] == maps[0][k] for m in maps)}
        differ.extend(f"{flag} {k}" for k in keys if k not in same)
        return same

    def one(values: list[str | None], flag: str) -> str | None:
        if len(set(values)) == 1:
            return values[0]
        differ.append(flag)
        return None

    db_opts = common([{k: v for k, v in r.db_opts.items() if k != "bug"} for r in rows], "--db-opt")
    workload = one([r.workload for r in rows], "--workload")
    workload_opts = common([r.workload_opts for r in rows], "--workload-opt") if workload is not None else {}
    return Setup(db_opts, workload, workload_opts, one([r.nemesis for r in rows], "--nemesis")), differ


def fill(user: Setup, preset: Setup) -> Setup:
    """What `preset` gives that `user` did not. Workload options are filled only for the preset's
    workload (the user's own workload, if different, takes other options)."""
    same_workload = user.workload is None or user.workload == preset.workload
    return Setup(
        db_opts={k: v for k, v in preset.db_opts.items() if k not in user.db_opts and k != "bug"},
        workload=preset.workload if user.workload is None else None,
        workload_opts={k: v for k, v in preset.workload_opts.items() if k not in user.workload_opts}
        if same_workload else {},
        nemesis=preset.nemesis if user.nemesis is None else None,
    )
