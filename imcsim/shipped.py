"""The shipped data by name: reference designs (`arch_configs/*.yaml`), circuit files
(`arch_configs/circuits/`), sweep specs (`workloads/sweeps/`) and networks (`workloads/`),
read through importlib.resources from the `imcsim.data` package, so they are found from
any directory, in a clone, an editable or a regular install alike.

A name resolves only where the user's own path does not exist: an existing file always
wins, and the caller reports the file it used.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

_DESIGNS = "arch_configs"
_CIRCUITS = "arch_configs/circuits"
_SWEEPS = "workloads/sweeps"
_NETWORKS = "workloads"
_NETWORK_FOLDERS = (_NETWORKS, f"{_NETWORKS}/digits", f"{_NETWORKS}/digits_analog")


def data_dir(relative: str = "") -> Path:
    """A folder of the shipped data (a real directory: the package is never zipped)."""
    root = resources.files("imcsim.data")
    return Path(str(root.joinpath(relative))) if relative else Path(str(root))


def _names(folder: str, suffixes: tuple[str, ...]) -> dict[str, Path]:
    base = data_dir(folder)
    if not base.is_dir():
        return {}
    return {p.stem: p for p in sorted(base.iterdir())
            if p.is_file() and p.suffix in suffixes and p.stem != "README"}


def designs() -> dict[str, Path]:
    """Shipped reference designs by name (fat, parapim, ...)."""
    return _names(_DESIGNS, (".yaml",))


def sweeps() -> dict[str, Path]:
    return _names(_SWEEPS, (".yaml",))


def networks() -> dict[str, Path]:
    """Shipped network files by name (native graphs; the trained digits networks of
    workloads/digits and workloads/digits_analog included)."""
    out: dict[str, Path] = {}
    for folder in _NETWORK_FOLDERS:
        out.update(_names(folder, (".yaml",)))
    out.pop("manifest", None)
    return out


def circuit_file(name: str) -> Path:
    """A shipped circuit parameter file, e.g. ``circuit_file("aid.yaml")``."""
    return data_dir(_CIRCUITS) / name


def _resolve(given: str | Path, table: dict[str, Path], folders: tuple[str, ...]) -> Path:
    path = Path(given)
    if path.exists():
        return path
    parent = path.parent.as_posix()
    if parent in (".", *folders) and path.stem in table and path.suffix in ("", ".yaml"):
        return table[path.stem]
    return path  # not shipped either: the reader names the path as given


def resolve_design(given: str | Path) -> Path:
    """`given` if it exists, else the shipped design of that name (``fat``, ``fat.yaml`` or
    ``arch_configs/fat.yaml``), else `given` unchanged."""
    return _resolve(given, designs(), (_DESIGNS,))


def resolve_sweep(given: str | Path) -> Path:
    return _resolve(given, sweeps(), (_SWEEPS,))


def resolve_network(given: str | Path) -> str | Path:
    """`given` if it exists or names nothing shipped (a zoo name stays a name), else the
    shipped network file of that name (``digits_cnn_twn``, ``workloads/resnet20_ternary.yaml``)."""
    table = networks()
    path = Path(given)
    if path.exists() or (not path.suffix and path.name not in table):
        return given
    return _resolve(given, table, _NETWORK_FOLDERS)


def describe(path: Path) -> tuple[str, str]:
    """(kind, one-line description) of a shipped YAML, from its `kind`/`description` keys."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return "", ""
    if not isinstance(raw, dict):
        return "", ""
    return str(raw.get("kind", "")), str(raw.get("description", raw.get("about", "")))
