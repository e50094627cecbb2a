"""Validating a mapping against a typed dataclass section, recursively.

Each dataclass field is a key; ``metadata`` carries the constraints (``gt``, ``min``,
``choices``: see `imcsim.config.fields`); fields typed ``X | None`` or with defaults are
optional. Every problem is a ConfigError naming the file and the dotted key path.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import types
import typing
from pathlib import Path
from typing import Any

from imcsim.config.fields import FLOAT_HUGE, FLOAT_TINY, INT_MAX
from imcsim.config.yaml_file import read_yaml
from imcsim.errors import ConfigError


def set_dotted(raw: dict, dotted: str, value: Any, source: str) -> None:
    """Set `raw[a][b]... = value` for `dotted` "a.b...." (the section must exist). A
    section given as a ``"file.yaml[#section]"`` reference (relative to `source`) on the
    way is read in first, so an override can reach a key of a circuit file (e.g.
    ``crossbar.adc.bits``) without copying the file's other numbers."""
    node = raw
    parts = dotted.split(".")
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if isinstance(child, str):
            child = node[part] = _referenced_section(child, source,
                                                     ".".join(parts[:i + 1]))
        if not isinstance(child, dict):
            raise ConfigError("no such section to override", source=source, key=dotted)
        node = child
    node[parts[-1]] = value  # an unknown key is then reported by validation


def _referenced_section(ref: str, source: str, key: str) -> dict:
    """A copy of the mapping a ``"file.yaml[#section]"`` reference at `key` names, its own
    file references rebased to stay relative to the file it was read from."""
    file, _, section = ref.partition("#")
    path = Path(source).parent / file
    if not path.is_file():
        raise ConfigError(f"referenced file {path} not found", source=source, key=key)
    data = read_yaml(path)
    found = data.get(section) if section else data
    if not isinstance(found, dict):
        raise ConfigError(f"no section {section!r} in {path}", source=source, key=key)
    return _rebased(copy.deepcopy(found), path.parent, Path(source).parent)


def _rebased(node: Any, here: Path, there: Path) -> Any:
    """`node` with every ``"file.yaml[#section]"`` string naming a file beside `here`
    rewritten relative to `there`."""
    if isinstance(node, dict):
        return {k: _rebased(v, here, there) for k, v in node.items()}
    if isinstance(node, list):
        return [_rebased(v, here, there) for v in node]
    if isinstance(node, str):
        file, sep, section = node.partition("#")
        if file.endswith((".yaml", ".yml")) and (here / file).is_file():
            return os.path.relpath(here / file, there) + sep + section
    return node


def build_section(cls: type, raw: Any, source: str, prefix: str) -> Any:
    """Validate mapping `raw` against dataclass `cls`, recursively."""
    if not isinstance(raw, dict):
        raise ConfigError(f"expected a mapping, got {type(raw).__name__}", source=source,
                          key=prefix or "<top>")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "source"}
    for key in raw:
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError(f"unknown key (known: {known})", source=source,
                              key=join_key(prefix, str(key)))
    values = {}
    for name, fld in fields.items():
        path = join_key(prefix, name)
        if name not in raw:
            has_default = (fld.default is not dataclasses.MISSING
                           or fld.default_factory is not dataclasses.MISSING)
            if has_default:
                continue
            raise ConfigError("missing required key", source=source, key=path)
        values[name] = _check_value(hints[name], fld, raw[name], source, path)
    return cls(**values)


def _check_value(hint: Any, fld: dataclasses.Field, value: Any, source: str, path: str) -> Any:
    if fld.metadata.get("raw"):
        return value
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        if value is None and type(None) in args:
            return None
        hint = next(a for a in args if a is not type(None))
    if fld.metadata.get("file_ref"):
        return build_referenced(hint, value, source, path, fld.metadata.get("check"))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return build_section(hint, value, source, path)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"expected true or false, got {value!r}", source=source, key=path)
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"expected a string, got {_short(value)}", source=source,
                              key=path)
        if not value.replace("\n", "").replace("\t", "").isprintable():
            raise ConfigError("contains a control character", source=source, key=path)
        choices = fld.metadata.get("choices")
        if choices and value not in choices:
            raise ConfigError(f"unknown value {_short(value)} (choose from "
                              f"{', '.join(choices)})", source=source, key=path)
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"expected an integer, got {_short(value)}", source=source,
                              key=path)
    elif hint is float:
        value = _yaml11_float(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"expected a number, got {_short(value)}", source=source,
                              key=path)
        try:
            value = float(value)
        except OverflowError:
            raise ConfigError(f"too large, got {_short(value)}", source=source,
                              key=path) from None
        if not math.isfinite(value):
            raise ConfigError(f"expected a finite number, got {value!r}", source=source,
                              key=path)
    if hint in (int, float):
        _check_bounds(hint, fld.metadata, value, source, path)
    return value


def _check_bounds(hint: Any, meta: Any, value: float, source: str, path: str) -> None:
    """The field's own bounds, else the defaults of `imcsim.config.fields`."""
    if "gt" in meta and not value > meta["gt"]:
        raise ConfigError(f"must be > {meta['gt']}, got {value!r}", source=source, key=path)
    if "min" in meta and not value >= meta["min"]:
        raise ConfigError(f"must be >= {meta['min']:g}, got {value!r}", source=source,
                          key=path)
    if hint is int:
        top = meta.get("max", INT_MAX)
        if abs(value) > top:
            raise ConfigError(f"must be <= {top:,}, got {_short(value)}", source=source,
                              key=path)
        return
    top = meta.get("max", FLOAT_HUGE)
    if abs(value) > top:
        raise ConfigError(f"must be <= {top:g}, got {value!r}", source=source, key=path)
    if value != 0 and abs(value) < FLOAT_TINY and "min" not in meta:
        raise ConfigError(f"too small (not zero, below {FLOAT_TINY:g}), got {value!r}",
                          source=source, key=path)


def _short(value: Any) -> str:
    """A value as an error message shows it: repr, cut to 40 characters."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _yaml11_float(value: Any) -> Any:
    """PyYAML (YAML 1.1) reads `1.0e9` (no exponent sign) as a string; accept it as a number."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def join_key(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def build_referenced(cls: type, value: Any, source: str, key: str,
                     check: Any = None) -> Any:
    """Section `cls` at `key` of file `source`, given inline (a mapping) or as
    ``"file.yaml[#section]"`` relative to `source`; then `check(obj, its source)`.

    Errors name the file the offending number is in: `source` and the dotted key for an
    inline section; otherwise the referenced file and the key under its section, with
    the chain that led there (the referencing file and key). A section with a `source`
    field gets the file it was read from."""
    if isinstance(value, dict):
        return _build_checked(cls, value, source, key, check)
    if not isinstance(value, str):
        raise ConfigError("expected a mapping or a 'file.yaml[#section]' path",
                          source=source, key=key)
    file, _, section = value.partition("#")
    ref = Path(source).parent / file
    if not ref.is_file():
        raise ConfigError(f"referenced file {ref} not found", source=source, key=key)
    try:
        raw = read_yaml(ref)
    except ConfigError as exc:
        raise _referenced_from(exc, source, key) from None
    if section and not isinstance(raw.get(section), dict):
        raise ConfigError(f"no section {section!r} in {ref}", source=source, key=key)
    try:
        return _build_checked(cls, raw[section] if section else raw, str(ref), section, check)
    except ConfigError as exc:
        raise _referenced_from(exc, source, key) from None


def _referenced_from(exc: ConfigError, source: str, key: str) -> ConfigError:
    """`exc`, raised inside a referenced file, with the chain that led there."""
    return ConfigError(f"{exc.bare_message} (referenced from {source} at {key})",
                       source=exc.source, key=exc.key)


def _build_checked(cls: type, raw: Any, where: str, prefix: str, check: Any) -> Any:
    """`build_section`, the file it came from, then `check` with its keys put under
    `prefix` (they are relative to the section)."""
    obj = build_section(cls, raw, where, prefix)
    if any(f.name == "source" for f in dataclasses.fields(cls)):
        obj = dataclasses.replace(obj, source=where)
    if check is not None:
        try:
            check(obj, where)
        except ConfigError as exc:
            if exc.source != where or not prefix:
                raise
            raise ConfigError(exc.bare_message, source=where,
                              key=join_key(prefix, exc.key) if exc.key else prefix) from None
    return obj
