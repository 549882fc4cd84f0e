"""What `harness replay RESULTS_DIR` runs again: the recorded command line, seed and faults as they ran.

results.json keeps the command line (`config.argv`), the seed, and the schedule as it ran (each
fault's spec, start, applied and stop times, concrete nodes). A replay is that command with that
seed, playing those faults as a schedule file at the same offsets from the workload's start.
By default a fault's target is resolved again when it is injected (a `partition:leader` cuts off
whoever leads *then*); pinned, it hits the nodes it hit before.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from checkers.history import read_history
from harness.errors import UsageError
from harness.nemesis.registry import KINDS, split
from harness.nemesis.schedule_file import TimedFault, clash


def read_results(run_dir: Path) -> dict[str, Any]:
    """The run's results.json (UsageError naming the file when it is missing or not a run's results)."""
    path = run_dir / "results.json"
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: cannot read it ({getattr(e, 'strerror', None) or e}); "
                         "give the folder of a run") from None
    except json.JSONDecodeError as e:
        raise UsageError(f"{path}:{e.lineno}: not JSON ({e.msg})") from None
    config = results.get("config") if isinstance(results, dict) else None
    argv = config.get("argv") if isinstance(config, dict) else None
    if not isinstance(argv, list) or argv[1:2] != ["run"] or not isinstance(results.get("schedule"), list):
        raise UsageError(f"{path}: no recorded `harness run` command line and schedule to replay")
    return results


def run_arguments(results: dict[str, Any]) -> list[str]:
    """The recorded `harness run` arguments, without --schedule (the replay plays what ran)."""
    argv = list(results["config"]["argv"][2:])
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--schedule":
            skip = True
        elif not a.startswith("--schedule="):
            out.append(a)
    return out


def _workload_start(results: dict[str, Any], run_dir: Path) -> float:
    """Seconds into the history where the faults' clock started (older results: the first client operation)."""
    recorded = results.get("timings", {}).get("nemesis_start_s")
    if isinstance(recorded, int | float):
        return float(recorded)
    first = next((e.time for e in read_history(run_dir / "history.jsonl") if e.is_client), 0)
    return first / 1e9


def _pinned_nodes(entry: dict[str, Any]) -> tuple[str, ...] | None:
    """The concrete nodes a basic fault hit, or for a partition the smaller side of a two-sided cut;
    None where nodes cannot say it (a package, a ring or a bridge)."""
    kind = KINDS.get(split(entry["nemesis"])[0])
    if kind is None or kind.package:
        return None
    nodes = entry.get("nodes")
    if isinstance(nodes, list) and nodes and all(isinstance(n, str) for n in nodes):
        return tuple(sorted(nodes))
    grudge = entry.get("grudge")
    if not isinstance(grudge, dict) or not grudge:
        return None
    everyone = frozenset(grudge)
    sides = {everyone - frozenset(cut) for cut in grudge.values()}
    if len(sides) != 2 or frozenset().union(*sides) != everyone or sum(map(len, sides)) != len(everyone):
        return None
    return tuple(sorted(min(sides, key=lambda s: (len(s), sorted(s)))))


def replayed_schedule(results: dict[str, Any], run_dir: Path, pin_nodes: bool) -> list[TimedFault]:
    """The recorded faults as a schedule: same spec, same offset from the workload's start, in place
    as long as they were (applied to healed); with `pin_nodes`, on the same nodes. Faults that ran
    overlapping replay overlapping; one that clashes with an earlier fault (`clash`: never
    overlapping in a recorded run, but a recorded duration is rounded) starts at that one's end."""
    start = _workload_start(results, run_dir)
    faults: list[TimedFault] = []
    for entry in results["schedule"]:
        if split(entry.get("nemesis", ""))[0] not in KINDS:
            continue  # not a fault this harness plays (e.g. a history imported from elsewhere)
        began = entry["start_s"]
        applied = entry["applied_s"] if entry.get("applied_s") is not None else began
        stopped = entry["stop_s"] if entry.get("stop_s") is not None else applied + 1.0
        fault = TimedFault(round(max(began - start, faults[-1].at if faults else 0.0), 3), entry["nemesis"],
                           round(max(stopped - applied, 0.1), 3), _pinned_nodes(entry) if pin_nodes else None)
        at = max([fault.at, *(f.end for f in faults if clash(f, fault))])
        faults.append(TimedFault(at, fault.nemesis, fault.duration, fault.nodes))
    return faults
