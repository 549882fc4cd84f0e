"""Durable Raft state: term and vote in ``meta.json``, a snapshot in ``snapshot.json``, the log after it.

``meta.json`` and ``snapshot.json`` are rewritten atomically (temp file, fsync,
rename, fsync of the directory). The log file is append-only: each record is a
4-byte big-endian payload length, a 4-byte CRC32 of the payload, then the
payload (compact JSON ``[term, command]``). A crash can leave a torn last
record; it fails the length or CRC check and is cut off on load, which is safe
because nothing was acknowledged for an entry whose write never completed.

The log file's name carries the index its first record follows (``log.bin``
with no snapshot, ``log.<index>.bin`` after one), so the two files never have
to change together: a new snapshot first writes the surviving log suffix to a
new file, then replaces ``snapshot.json``, then deletes the old log file. A
crash anywhere in between leaves a snapshot and a log file that fit; load picks
the file named by the snapshot and deletes any other.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import zlib
from pathlib import Path
from typing import Any, BinaryIO

from nodes.raft.messages import Entry, Snapshot

log = logging.getLogger(__name__)

_HEADER = struct.Struct(">II")
META = "meta.json"
SNAPSHOT = "snapshot.json"
LOG = "log.bin"


def log_name(base: int) -> str:
    """The log file holding the entries after index ``base``."""
    return LOG if base == 0 else f"log.{base}.bin"


def _encode_record(entry: Entry) -> bytes:
    payload = json.dumps([entry.term, entry.command], separators=(",", ":")).encode()
    return _HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


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
        self.snapshot = self._load_snapshot()
        self.entries: list[Entry] = []  # the log after the snapshot as recovered at open; not kept up to date
        self._offsets: list[int] = []  # file offset of each entry's record
        self._file = self._open_log(self.snapshot.index)
        self._load_log()
        for stale in self.path.glob("log*.bin"):  # left by a crash during a snapshot
            if stale.name != log_name(self.snapshot.index):
                stale.unlink()
        _fsync_dir(self.path)

    def _open_log(self, base: int) -> BinaryIO:
        return open(self.path / log_name(base), "a+b", buffering=0)  # lives as long as the node

    def _load_meta(self) -> tuple[int, str | None]:
        try:
            meta: dict[str, Any] = json.loads((self.path / META).read_text())
        except FileNotFoundError:
            return 0, None
        return int(meta["term"]), meta["voted_for"]

    def _load_snapshot(self) -> Snapshot:
        try:
            snap: dict[str, Any] = json.loads((self.path / SNAPSHOT).read_text())
        except FileNotFoundError:
            return Snapshot(0, 0, None)
        return Snapshot(int(snap["index"]), int(snap["term"]), snap["data"])

    def _load_log(self) -> None:
        data = (self.path / log_name(self.snapshot.index)).read_bytes()
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
        _write_atomically(self.path / META, json.dumps({"term": term, "voted_for": voted_for}).encode())
        self.term, self.voted_for = term, voted_for

    @property
    def length(self) -> int:
        """Index of the last durable log entry (the snapshot's, with no entries after it)."""
        return self.snapshot.index + len(self._offsets)

    def save_snapshot(self, snapshot: Snapshot) -> None:
        """Durably make ``snapshot`` replace the log up to its index; durable entries after it are kept."""
        base = self.snapshot.index
        if snapshot.index <= base:
            raise ValueError(f"snapshot at {snapshot.index} is not after the current one at {base}")
        kept = snapshot.index - base  # records before the first one to keep
        start = self._offsets[kept] if kept < len(self._offsets) else self._end
        tail = os.pread(self._file.fileno(), self._end - start, start)
        new_file = self.path / log_name(snapshot.index)
        _write_atomically(new_file, tail)
        payload = {"index": snapshot.index, "term": snapshot.term, "data": snapshot.data}
        _write_atomically(self.path / SNAPSHOT, json.dumps(payload, separators=(",", ":")).encode())
        old_file = self.path / log_name(base)
        self._file.close()
        old_file.unlink()
        _fsync_dir(self.path)
        self._file = self._open_log(snapshot.index)
        self._offsets = [offset - start for offset in self._offsets[kept:]]
        self._end -= start
        self.snapshot = snapshot

    def replace_from(self, index: int, entries: list[Entry]) -> None:
        """Durably make ``entries`` the log from ``index`` on, dropping anything there before.

        A truncation is fsynced on its own before new records are written, so a
        crash can never leave new records followed by stale old ones.
        """
        if index <= self.snapshot.index:
            raise ValueError(f"cannot rewrite entry {index}: it is in the snapshot at {self.snapshot.index}")
        if index <= self.length:
            self._end = self._offsets[index - self.snapshot.index - 1]
            del self._offsets[index - self.snapshot.index - 1 :]
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
