"""`harness list`: what a user can name on the command line, and each part's options.

Built from the same registries `harness run` resolves names with, so the list can never
disagree with what runs. A plug-in that fails to load is listed with its error instead of
hiding the rest.
"""

from __future__ import annotations

from typing import Any

from contract.options import describe
from harness import plugins
from harness.dbs.abilities import declared
from harness.nemesis.registry import KINDS
from harness.test import DB_KIND, WORKLOAD_KIND


def _db(name: str, cls: type | str) -> dict[str, Any]:
    if isinstance(cls, str):
        return {"name": name, "error": cls}
    seeded = {"bugs": list(cls.bugs)} if getattr(cls, "bugs", None) else {}
    return {"name": name, "description": cls.description, "abilities": declared(cls),
            "client_operations": sorted(m for m in dir(cls.connection) if not m.startswith("_")
                                        and callable(getattr(cls.connection, m))),
            "min_nodes": cls.min_nodes, "options": describe(cls.options), **seeded}


def _workload(name: str, cls: type | str) -> dict[str, Any]:
    if isinstance(cls, str):
        return {"name": name, "error": cls}
    return {"name": name, "description": cls.description, "requires": list(cls.requires),
            "options": describe(cls.options)}


def catalog(db: str | None = None, workload: str | None = None, nemesis: bool = False) -> dict[str, Any]:
    """Everything (no arguments), or just the named DB / workload / the faults."""
    if db is not None:
        return _db(db, plugins.load(DB_KIND, db))
    if workload is not None:
        return _workload(workload, plugins.load(WORKLOAD_KIND, workload))
    nemeses = [k.describe() for k in KINDS.values()]
    if nemesis:
        return {"nemeses": nemeses}
    return {"dbs": [_db(n, c) for n, c in plugins.available(DB_KIND).items()],
            "workloads": [_workload(n, c) for n, c in plugins.available(WORKLOAD_KIND).items()],
            "nemeses": nemeses}


def _options(options: list[dict[str, Any]]) -> list[str]:
    lines = []
    for o in options:
        default = "" if o["default"] in (None, ()) else f" (default {o['default']})"
        many = ", repeatable" if o["many"] else ""
        lines.append(f"      {o['name']}={o['metavar']}{many}: {o['help']}{default}")
    return lines


def render(data: dict[str, Any]) -> str:
    """The catalogue as text for a terminal."""
    if "name" in data:
        data = {"dbs": [data]} if "abilities" in data or "client_operations" in data else {"workloads": [data]}
    lines: list[str] = []
    for title, key in (("systems (--db)", "dbs"), ("workloads (--workload)", "workloads"),
                       ("faults (--nemesis)", "nemeses")):
        if key not in data:
            continue
        lines.append(f"{title}:")
        for part in data[key]:
            if "error" in part:
                lines.append(f"  {part['name']}: cannot load: {part['error']}")
                continue
            lines.append(f"  {part['name']}: {part['description']}")
            if part.get("abilities") is not None:
                lines.append(f"    abilities: {', '.join(part['abilities']) or 'none'}; client operations: "
                             f"{', '.join(part['client_operations'])}")
            if part.get("requires"):
                lines.append(f"    needs: {', '.join(part['requires'])}")
            if part.get("tools"):
                lines.append(f"    runs on the nodes: {', '.join(part['tools'])}")
            if part.get("args"):
                lines.append(f"    {part['name']}:{'|'.join(part['args'])}")
            if part.get("rhythm"):
                lines.append("    rhythm: " + ", ".join(f"{k} {v:g} s" for k, v in part["rhythm"].items() if v))
            if part.get("options"):
                lines.append("    options:")
                lines += _options(part["options"])
            if part.get("bugs"):
                lines.append("    seeded bugs, and the harness run arguments that expose each:")
                lines += [f"      {b['name']}: {' '.join(b['args'])}" for b in part["bugs"]]
        lines.append("")
    return "\n".join(lines).rstrip()

