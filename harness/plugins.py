"""Finding the parts a test names: built-in names, installed plug-ins, and a user's own file.

`--db` and `--workload` accept, in this order of precedence:
- `path/to/file.py:Name`: a class in a file anywhere (no install, no package: one file);
- `package.module:Name`: a class in an importable module;
- a plain name: a built-in part, or one an installed distribution registers under the entry
  point group (`harness.dbs`, `harness.workloads`) with that name.
Loading happens before anything starts, and every failure is one line naming the flag.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from harness.errors import UsageError


@dataclass(frozen=True)
class Kind:
    """One kind of part: the flag that names it, its base class, built-ins and entry point group."""

    flag: str
    base: type
    builtin: Mapping[str, str]  # name -> "module:attribute", imported only when chosen or listed
    group: str


def _import_attribute(target: str, flag: str) -> Any:
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise UsageError(f"{flag} {target}: cannot import {module_name} ({e})") from e
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise UsageError(f"{flag} {target}: {module_name} has no {attribute}") from None


def _load_file(path_text: str, attribute: str, flag: str) -> Any:
    path = Path(path_text).expanduser().resolve()
    if not path.is_file():
        raise UsageError(f"{flag} {path_text}:{attribute}: no such file")
    name = f"harness_plugin_{abs(hash(str(path))):x}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"{flag} {path_text}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look classes up by module
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        del sys.modules[name]
        raise UsageError(f"{flag} {path_text}: loading it failed: {type(e).__name__}: {e}") from e
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise UsageError(f"{flag} {path_text}: it defines no {attribute}") from None


def entry_points(kind: Kind) -> dict[str, metadata.EntryPoint]:
    return {ep.name: ep for ep in metadata.entry_points(group=kind.group)}


def load(kind: Kind, spec: str) -> type:
    """The class `spec` names (see the module docstring); UsageError if it is not a `kind.base`."""
    if ":" in spec:
        target, _, attribute = spec.rpartition(":")
        looks_like_file = target.endswith(".py") or "/" in target or "\\" in target
        found = _load_file(target, attribute, kind.flag) if looks_like_file else _import_attribute(spec, kind.flag)
    elif spec in kind.builtin:
        found = _import_attribute(kind.builtin[spec], kind.flag)
    else:
        plugins = entry_points(kind)
        if spec not in plugins:
            known = ", ".join(sorted({*kind.builtin, *plugins}))
            raise UsageError(f"{kind.flag} {spec}: unknown; known: {known} (or FILE.py:Class, or module:Class)")
        try:
            found = plugins[spec].load()
        except Exception as e:
            raise UsageError(f"{kind.flag} {spec}: its plug-in failed to load: {type(e).__name__}: {e}") from e
    if not (isinstance(found, type) and issubclass(found, kind.base)):
        raise UsageError(f"{kind.flag} {spec}: not a {kind.base.__module__}.{kind.base.__name__} subclass")
    if getattr(found, "__abstractmethods__", None):
        missing = ", ".join(sorted(found.__abstractmethods__))
        raise UsageError(f"{kind.flag} {spec}: {found.__name__} does not implement {missing}")
    return found


def available(kind: Kind) -> dict[str, type | str]:
    """Every part listed by name: built-ins and installed plug-ins (a plug-in that fails to load is
    listed with the reason instead of a class, so `harness list` still shows the rest)."""
    out: dict[str, type | str] = {}
    for name in sorted({*kind.builtin, *entry_points(kind)}):
        try:
            out[name] = load(kind, name)
        except UsageError as e:
            out[name] = str(e)
    return out
