"""Reading a YAML file into its top-level mapping, every failure a ConfigError naming it."""

from __future__ import annotations

from pathlib import Path

import yaml

from imcsim.errors import ConfigError


def read_yaml(path: str | Path) -> dict:
    """The top-level mapping of YAML file `path` (ConfigError naming the file otherwise)."""
    source = str(path)
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise ConfigError("file not found", source=source) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=source) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ConfigError(f"malformed YAML{where}: {problem}", source=source) from None
    if not isinstance(raw, dict):
        raise ConfigError("top level must be a mapping of sections", source=source)
    return raw
