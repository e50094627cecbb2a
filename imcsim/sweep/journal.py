"""The sweep journal: one JSON line per finished point, appended, flushed and fsynced.

    {"id": "<point id>", "config": "<digest of the point's inputs>", "row": {...}}

Reading never changes the file. A last line without its newline (the process was killed
while writing it) is ignored unless it is a whole record. No line is trusted: one that is
not a record (garbage, nesting, a row with anything but finite scalars) is skipped and
listed in `bad_lines`, so its point runs again. A record counts only if its config digest is
the one of the current point (an edited arch or spec makes old results stale, not
wrong); the first such record of a point wins. Writing first repairs the tail (a whole
record gets its newline, a torn one is cut off) under an exclusive lock, so two sweeps
never write one journal at once.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from imcsim.errors import ImcsimError, UsageError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no lock
    fcntl = None  # type: ignore[assignment]


MAX_LINE = 1 << 20  # bytes: a record is a few hundred


def _scalar(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, (str, int, bool))


def _record(line: bytes) -> dict[str, Any] | None:
    if len(line) > MAX_LINE:
        return None
    try:
        rec = json.loads(line)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not (isinstance(rec, dict) and isinstance(rec.get("id"), str)
            and isinstance(rec.get("config"), str) and isinstance(rec.get("row"), dict)):
        return None
    if not all(isinstance(k, str) and _scalar(v) for k, v in rec["row"].items()):
        return None
    return rec


class Journal:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.bad_lines: list[int] = []  # of the last read

    def records(self) -> list[dict[str, Any]]:
        """Every whole record, in file order (the file is not modified)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ImcsimError(f"cannot read: {exc.strerror}", source=str(self.path)) from None
        lines = data.split(b"\n")
        tail = lines.pop()  # b"" when the file ends with a newline
        out = []
        self.bad_lines = []
        for n, line in enumerate(lines, start=1):
            rec = _record(line)
            if rec is None:
                self.bad_lines.append(n)
                continue
            out.append(rec)
        rec = _record(tail) if tail else None
        if rec is not None:
            out.append(rec)
        return out

    def completed(self, configs: dict[str, str]) -> dict[str, dict[str, Any]]:
        """Point id -> row, for the records whose config digest is `configs[id]`."""
        done: dict[str, dict[str, Any]] = {}
        for rec in self.records():
            pid = rec["id"]
            if pid not in done and configs.get(pid) == rec["config"]:
                done[pid] = rec["row"]
        return done

    @contextmanager
    def writer(self) -> Iterator[JournalWriter]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        with os.fdopen(fd, "r+b") as fh:
            if fcntl is not None:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    raise UsageError("another sweep is writing this journal",
                                     source=str(self.path)) from None
            _repair_tail(fh)
            yield JournalWriter(fh)


def _repair_tail(fh: Any) -> None:
    """Make the file end with a newline after its last whole record."""
    data = fh.read()
    if not data or data.endswith(b"\n"):
        return
    cut = data.rfind(b"\n") + 1
    if _record(data[cut:]) is not None:
        fh.seek(0, os.SEEK_END)
        fh.write(b"\n")
    else:
        fh.truncate(cut)
    fh.flush()
    os.fsync(fh.fileno())


class JournalWriter:
    def __init__(self, fh: Any):
        self.fh = fh

    def append(self, point_id: str, config: str, row: dict[str, Any]) -> None:
        """Append one record; it is on disk when this returns."""
        line = json.dumps({"id": point_id, "config": config, "row": row},
                          separators=(",", ":")) + "\n"
        self.fh.seek(0, os.SEEK_END)
        self.fh.write(line.encode())
        self.fh.flush()
        os.fsync(self.fh.fileno())
