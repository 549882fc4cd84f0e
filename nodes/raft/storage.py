"""Durable Raft state: term and vote in ``meta.json``, the log in ``log.bin``.

``meta.json`` is tiny and rewritten atomically (temp file, fsync, rename,
fsync of the directory). ``log.bin`` is append-only: each record is a 4-byte
big-endian payload length, a 4-byte CRC32 of the payload, then the payload
(compact JSON ``[term, command]``). A crash can leave a torn last record; it
fails the length or CRC check and is cut off on load, which is safe because
nothing was acknowledged for an entry whose write never completed.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import zlib
from pathlib import Path
from typing import Any

from nodes.raft.messages import Entry

log = logging.getLogger(__name__)

_HEADER = struct.Struct(">II")
META = "meta.json"
LOG = "log.bin"


def _encode_record(entry: Entry) -> bytes:
    payload = json.dumps([entry.term, entry.command], separators=(",", ":")).encode()
    return _HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Storage:
    """Owns one data directory; every mutating call is durable when it returns."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.term, self.voted_for = self._load_meta()
        self.entries: list[Entry] = []  # the log as recovered at open; not kept up to date
        self._offsets: list[int] = []  # file offset of each entry's record
        self._file = open(self.path / LOG, "a+b", buffering=0)  # noqa: SIM115 - lives as long as the node
        self._load_log()
        _fsync_dir(self.path)

    def _load_meta(self) -> tuple[int, str | None]:
        try:
            meta: dict[str, Any] = json.loads((self.path / META).read_text())
        except FileNotFoundError:
            return 0, None
        return int(meta["term"]), meta["voted_for"]

    def _load_log(self) -> None:
        data = (self.path / LOG).read_bytes()
        pos = 0
        while pos + _HEADER.size <= len(data):
            length, crc = _HEADER.unpack_from(data, pos)
            payload = data[pos + _HEADER.size : pos + _HEADER.size + length]
            if len(payload) < length or zlib.crc32(payload) != crc:
                break
            term, command = json.loads(payload)
            self._offsets.append(pos)
            self.entries.append(Entry(term, command))
            pos += _HEADER.size + length
        if pos < len(data):
            torn = len(data) - pos
            log.warning("discarding %d bytes of torn log tail after entry %d", torn, len(self.entries))
            self._file.truncate(pos)
            os.fsync(self._file.fileno())
        self._end = pos

    def set_hard_state(self, term: int, voted_for: str | None) -> None:
        """Atomically and durably replace term and vote."""
        tmp = self.path / (META + ".tmp")
        with open(tmp, "w") as f:
            json.dump({"term": term, "voted_for": voted_for}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path / META)
        _fsync_dir(self.path)
        self.term, self.voted_for = term, voted_for

    @property
    def length(self) -> int:
        """Number of durable log entries."""
        return len(self._offsets)

    def replace_from(self, index: int, entries: list[Entry]) -> None:
        """Durably make ``entries`` the log from ``index`` on, dropping anything there before.

        A truncation is fsynced on its own before new records are written, so a
        crash can never leave new records followed by stale old ones.
        """
        if index <= self.length:
            self._end = self._offsets[index - 1]
            del self._offsets[index - 1 :]
            self._file.truncate(self._end)
            os.fdatasync(self._file.fileno())
        if index != self.length + 1:
            raise ValueError(f"log gap: have {self.length} entries, asked to write at {index}")
        if not entries:
            return
        records = []
        for entry in entries:
            record = _encode_record(entry)
            self._offsets.append(self._end)
            self._end += len(record)
            records.append(record)
        view = memoryview(b"".join(records))
        while view:  # "a" mode: always written at the end of the file
            view = view[self._file.write(view) :]
        os.fdatasync(self._file.fileno())

    def close(self) -> None:
        self._file.close()
