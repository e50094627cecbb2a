"""Field constructors carrying the constraints the config loader checks (`gt`, `min`,
`choices`, file references in the dataclass field metadata)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field
from typing import Any


def positive(**kw):
    """A number that must be > 0."""
    return field(metadata={"gt": 0}, **kw)


def non_negative(**kw):
    """A number that must be >= 0."""
    return field(metadata={"min": 0}, **kw)


def one_of(choices: tuple[str, ...], **kw):
    return field(metadata={"choices": choices}, **kw)


def inline_or_file(check: Callable[[Any, str], None] | None = None, **kw: Any) -> Any:
    """A section given inline or as ``"file.yaml"`` / ``"file.yaml#section"`` (relative
    to the config file that names it, so a number lives in one file only);
    `check(obj, source)` runs the checks across its fields, its keys relative to the
    section."""
    return field(metadata={"file_ref": True, "check": check}, **kw)


def resolved_by_kind(**kw: Any) -> Any:
    """A value passed through unchecked: the design kind resolves it (its type depends on
    another key, e.g. a crossbar's device on its technology)."""
    return field(metadata={"raw": True}, **kw)
