"""Atomic file writing: a temporary file beside the target, renamed over it, so a reader
never sees a partial file and a failure leaves nothing behind (DESIGN.md principle 7).

An output never clobbers what is not its own: a target that exists and is not a regular
file (a symlink, a device, a FIFO, a socket, a directory) is refused, not replaced. A set
of files (`write_files`) is written to temporary names first and renamed only once every
one is complete, so an interrupted run leaves none of them."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from imcsim.errors import ImcsimError


def check_file_target(path: str | Path, error: type[ImcsimError] = ImcsimError,
                      key: str | None = None) -> Path:
    """`path` may be written: it does not exist or is a regular file, and its nearest
    existing ancestor is a directory."""
    path = Path(path)
    if os.path.lexists(path) and (path.is_symlink() or not path.is_file()):
        raise error("exists and is not a regular file (a link, device, FIFO, socket or "
                    "directory); not replacing it", source=str(path), key=key)
    for parent in path.parents:
        if os.path.lexists(parent):
            if not parent.is_dir():
                raise error("a parent of the output path is not a directory",
                            source=str(path), key=key)
            break
    return path


def check_dir_target(path: str | Path, error: type[ImcsimError] = ImcsimError,
                     key: str | None = None) -> Path:
    """`path` may hold output files: it does not exist or is a real directory."""
    path = Path(path)
    if os.path.lexists(path) and (path.is_symlink() or not path.is_dir()):
        raise error("output path exists and is not a directory", source=str(path), key=key)
    check_file_target(path / "x", error, key)  # its parents
    return path


def atomic_write_stream(path: str | Path, write: Callable[[BinaryIO], object],
                        error: type[ImcsimError] = ImcsimError) -> Path:
    """Call `write(fh)` on a temporary file beside `path`, then rename it to `path`.

    An OSError becomes `error(source=path)`; the temporary file is removed on any failure
    (an interrupt included). A target that is not a regular file is refused.
    """
    path = check_file_target(path, error)
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


def write_files(files: dict[Path, bytes], error: type[ImcsimError] = ImcsimError
                ) -> list[Path]:
    """Write every file of `files` (path -> bytes) to a temporary name beside it, then
    rename them all; on any failure or interrupt no target is touched and no temporary
    file is left."""
    targets = [check_file_target(path, error) for path in files]
    temps: list[tuple[str, Path]] = []
    try:
        for path, data in files.items():
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                           suffix=".tmp")
                temps.append((tmp, path))
                os.fchmod(fd, 0o644)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
            except OSError as exc:
                raise error(f"cannot write: {exc.strerror or exc}", source=str(path)) from None
        for tmp, path in temps:
            os.replace(tmp, path)
        temps = []
    finally:
        for tmp, _ in temps:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return targets


def write_or_collect(files: dict[Path, bytes], sink: dict[Path, bytes] | None,
                     error: type[ImcsimError] = ImcsimError) -> list[Path]:
    """Write rendered `files` now as one set (`write_files`), or add them to `sink` for
    the caller to write with the rest of its output set; the paths."""
    if sink is not None:
        sink.update(files)
        return list(files)
    return write_files(files, error)
