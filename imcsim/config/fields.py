"""Field constructors carrying the constraints the arch loader checks (`gt`, `min`,
`choices` in the dataclass field metadata)."""

from __future__ import annotations

from dataclasses import field


def positive(**kw):
    """A number that must be > 0."""
    return field(metadata={"gt": 0}, **kw)


def non_negative(**kw):
    """A number that must be >= 0."""
    return field(metadata={"min": 0}, **kw)


def one_of(choices: tuple[str, ...], **kw):
    return field(metadata={"choices": choices}, **kw)
