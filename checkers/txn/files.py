"""Reading transactional histories from files: our JSONL and Jepsen/Elle EDN.

Elle's own example and test histories are looser than a Jepsen run's history.edn: ops may
lack `:process` or `:f` (every op is a txn there), or carry only completions. This reader
accepts that (no `:f` means txn; no `:process` means no process order can be inferred), and
still reports a malformed file as one HistoryError naming the line. EDN may be gzipped (.gz).
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

from checkers.edn import iter_edn
from checkers.history import EVENT_TYPES, NEMESIS, Event, HistoryError, read_history

FORMATS = ("jsonl", "edn")


def _edn_event(d: Any, n: int, where: str) -> Event:
    if not isinstance(d, dict):
        raise HistoryError(f"{where}: expected an op map, got {type(d).__name__}")
    typ = d.get("type")
    if typ not in EVENT_TYPES:
        raise HistoryError(f"{where}: :type must be one of :invoke :ok :fail :info, got {typ!r}")
    process = d.get("process")
    if process is not None and (not isinstance(process, int) or isinstance(process, bool)):
        process = NEMESIS
    index = d.get("index")
    t = d.get("time")
    return Event(
        index if isinstance(index, int) else n,
        t if isinstance(t, int) else n,
        process,  # type: ignore[arg-type]  # None: unknown process, no process order
        typ,
        str(d.get("f", "txn")),
        None,
        d.get("value"),
        None,
        d.get("error"),
    )


def read_edn_txns(path: Path | str) -> list[Event]:
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        text = raw.decode("utf-8")
    except OSError as e:
        raise HistoryError(f"{path}: cannot read: {e.strerror}") from e
    except (gzip.BadGzipFile, EOFError) as e:
        raise HistoryError(f"{path}: not a readable gzip file ({e})") from e
    except UnicodeDecodeError as e:
        raise HistoryError(f"{path}: not UTF-8 text (byte {e.start})") from e
    forms = iter_edn(text, str(path), unwrap=True)
    return [_edn_event(d, n, f"{path} line {line}") for n, (line, d) in enumerate(forms)]


def read_txn_history(path: Path | str, format: str | None = None) -> list[Event]:
    """Events of a txn history; the format defaults from the file name (.edn or .edn.gz, else jsonl)."""
    fmt = format or ("edn" if str(path).endswith((".edn", ".edn.gz")) else "jsonl")
    if fmt == "edn":
        return read_edn_txns(path)
    if fmt == "jsonl":
        return read_history(path)
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
