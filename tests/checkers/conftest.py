"""Shared helpers: a compact way to write a history in a test.

Each line is `process type f [value] [key=K]`, values in JSON: `0 invoke cas [1,2] key="a"`.
Process `n` is the nemesis. Blank lines and `#` comments are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from checkers.history import Event


def parse_history(text: str) -> list[Event]:
    events: list[Event] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key = None
        if " key=" in line:
            line, k = line.split(" key=", 1)
            key = json.loads(k)
        parts = line.split(None, 3)
        process: int | str = "nemesis" if parts[0] == "n" else int(parts[0])
        value = json.loads(parts[3]) if len(parts) > 3 else None
        events.append(Event(len(events), len(events), process, parts[1], parts[2], key, value))
    return events


@pytest.fixture
def hist() -> Callable[[str], list[Event]]:
    return parse_history
