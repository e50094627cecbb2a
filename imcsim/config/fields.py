"""Field constructors carrying the constraints the config loader checks (`gt`, `min`,
`max`, `choices`, file references in the dataclass field metadata).

Every number is bounded, so that no value a file can hold overflows or allocates without
limit downstream: a field's own `max` (and `min`) where the physics gives one, else the
defaults below (integers up to INT_MAX; floats within [FLOAT_TINY, FLOAT_HUGE] in
magnitude, or zero).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field
from numbers import Integral
from typing import Any, TypeGuard

INT_MAX = 2 ** 31 - 1
FLOAT_HUGE = 1e15  # in the YAML's units (ns, pJ, uS, Hz, mm^2, ...)
FLOAT_TINY = 1e-15


def is_int_in(value: object, lo: int, hi: int | None = None) -> TypeGuard[Integral]:
    """True for an integer (not a bool) with lo <= value (<= hi when given): the check
    of every count an option or a spec gives (batch, seed, tokens, dimensions)."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        return False
    return lo <= int(value) and (hi is None or int(value) <= hi)


def _bounds(meta: dict[str, Any], at_most: float | None,
            at_least: float | None) -> dict[str, Any]:
    if at_most is not None:
        meta["max"] = at_most
    if at_least is not None:
        meta["min"] = at_least
    return meta


def positive(*, at_most: float | None = None, at_least: float | None = None, **kw: Any) -> Any:
    """A number that must be > 0 (and within [at_least, at_most] when given)."""
    return field(metadata=_bounds({"gt": 0}, at_most, at_least), **kw)


def non_negative(*, at_most: float | None = None, **kw: Any) -> Any:
    """A number that must be >= 0 (and <= at_most when given)."""
    return field(metadata=_bounds({"min": 0}, at_most, None), **kw)


def one_of(choices: tuple[str, ...], **kw: Any) -> Any:
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
