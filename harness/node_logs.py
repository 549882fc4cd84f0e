"""Scan the node logs a run fetched for signs that a node process crashed by itself.

A panic, an uncaught exception's traceback or a fatal signal in a node's log is worth a reader's
eye even when the history checks out: results.json lists each finding (node, file, line, the
line itself) under `node_logs`, and the report of a node process that died on its own quotes
the last one from that node.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

# What a crash looks like in the logs of the systems we know: Python, Go, Rust, the JVM, C.
CRASH = re.compile(
    r"Traceback \(most recent call last\)|^panic: |thread '.*' panicked at|^fatal error: |"
    r"Exception in thread \"|Segmentation fault|core dumped|AddressSanitizer|^SIGSEGV|^SIGABRT|"
    r"\bFATAL\b|\bCRITICAL\b"
)
MAX_FINDINGS = 50


def scan(node_dirs: dict[str, Path]) -> list[dict[str, Any]]:
    """Every crash-like line in every fetched log file (at most MAX_FINDINGS, first ones first)."""
    findings: list[dict[str, Any]] = []
    for node, folder in sorted(node_dirs.items()):
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            try:
                lines = path.read_text(errors="replace").splitlines()
            except OSError:
                continue
            for number, line in enumerate(lines, 1):
                if CRASH.search(line):
                    findings.append({"node": node, "file": str(path.relative_to(folder.parent.parent)),
                                     "line": number, "text": line.strip()[:300]})
                    if len(findings) >= MAX_FINDINGS:
                        return findings
    return findings
