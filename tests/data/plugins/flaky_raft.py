"""Our Raft node, but the first run to set it up fails as if the harness's environment broke.

For testing how `harness test-all` tells harness trouble from verdicts and retries it: the first
setup that finds no marker file creates it and raises HarnessError; every later one works.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from contract.options import Option
from harness.dbs.raft import RaftDB
from harness.errors import HarnessError


class FlakyRaft(RaftDB):
    name = "flaky-raft"
    options: ClassVar = (*RaftDB.options, Option("marker", "file whose absence makes setup fail once", default=""))

    def setup(self, node: str) -> None:
        marker = Path(self.opts["marker"])
        if self.opts["marker"] and not marker.exists():
            marker.touch()
            raise HarnessError("induced failure: the engine went away (test)")
        super().setup(node)
