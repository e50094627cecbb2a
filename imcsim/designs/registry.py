"""Design kinds by name: every subpackage of `imcsim.designs` with a `KIND` object is a
kind (found on first use, so adding a kind is adding a folder); `register` adds one
from elsewhere (a notebook, another package)."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from imcsim.designs.protocol import DesignKind
from imcsim.errors import ConfigError

_PACKAGE = "imcsim.designs"
_registered: dict[str, DesignKind] = {}


def _builtin_names() -> list[str]:
    here = Path(__file__).resolve().parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.ispkg)


def register(kind: DesignKind) -> DesignKind:
    """Make `kind` available by its name (replacing a kind of the same name)."""
    _registered[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    """Forget a kind added by `register` (a built-in kind is found again on next use)."""
    _registered.pop(name, None)


def kind_names() -> list[str]:
    """Names of every available design kind."""
    return sorted(set(_builtin_names()) | set(_registered))


def design_kind(name: str, *, source: str | None = None, key: str = "kind") -> DesignKind:
    """The design kind called `name` (ConfigError naming `source` and `key` if none is)."""
    if name in _registered:
        return _registered[name]
    if not isinstance(name, str) or name not in _builtin_names():
        raise ConfigError(f"unknown design kind {name!r} (choose from "
                          f"{', '.join(kind_names())})", source=source, key=key)
    module = importlib.import_module(f"{_PACKAGE}.{name}")
    return register(module.KIND)
