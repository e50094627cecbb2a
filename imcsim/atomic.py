"""Atomic file writing: a temporary file beside the target, renamed over it, so a reader
never sees a partial file and a failure leaves nothing behind (DESIGN.md principle 7)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from imcsim.errors import ImcsimError


def atomic_write_stream(path: str | Path, write: Callable[[BinaryIO], object],
                        error: type[ImcsimError] = ImcsimError) -> Path:
    """Call `write(fh)` on a temporary file beside `path`, then rename it to `path`.

    An OSError becomes `error(source=path)`; the temporary file is removed on any failure.
    """
    path = Path(path)
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise error(f"cannot write: {exc.strerror or exc}", source=str(path)) from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return path


def atomic_write_bytes(path: str | Path, data: bytes,
                       error: type[ImcsimError] = ImcsimError) -> Path:
    return atomic_write_stream(path, lambda fh: fh.write(data), error)


def atomic_write(path: str | Path, text: str, error: type[ImcsimError] = ImcsimError) -> Path:
    """Write UTF-8 `text` to `path` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"), error)
