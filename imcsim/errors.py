"""User-facing errors. Every one names the file and the key path (or node) at fault."""

from __future__ import annotations


def printable(text: str) -> str:
    """`text` with control characters (newlines, terminal escapes, NUL) escaped, so that
    a message stays on one line and nothing reaches the terminal raw."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


class ImcsimError(Exception):
    """Base class of every error the CLI reports as one line with exit code 2."""

    def __init__(self, message: str, *, source: str | None = None, key: str | None = None):
        message = printable(str(message))
        source = printable(str(source)) if source else source
        key = printable(str(key)) if key else key
        self.source = source
        self.key = key
        self.bare_message = message
        where = ""
        if source and key:
            where = f"{source}: {key}: "
        elif source:
            where = f"{source}: "
        elif key:
            where = f"{key}: "
        super().__init__(f"{where}{message}")


class ConfigError(ImcsimError):
    """A bad arch config: malformed YAML, unknown key, wrong type, bad value."""


class WorkloadError(ImcsimError):
    """A bad workload: unknown network, bad shape, unsupported operator, missing weights."""


class UsageError(ImcsimError):
    """A bad command-line value (e.g. sparsity outside [0, 1))."""
