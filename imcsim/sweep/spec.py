"""Sweep specs: read, validate and expand a sweep YAML into an ordered list of points.

    designs:                       # one or more arch configs, each with a unique name
      - {name: FAT, arch: ../../arch_configs/fat.yaml, overrides: {chip.banks: 8}}
      - {name: ParaPIM, arch: ../../arch_configs/parapim.yaml}
    baseline: ParaPIM              # optional: a design name (ratio columns are against it)
    networks: [resnet18]           # zoo names
    grid:                          # or `points:`, a list of dicts with the same axes
      sparsity: [0.5, 0.8]         # axes: design, net, sparsity, seed, batch, or a dotted arch key
      chip.rows: [256, 512]

Every point runs each design (unless it names a `design`) on each network (unless it
names a `net`); order: design, net, then the grid axes as written, the last fastest (with
`points`, the list order). Arch paths are relative to the spec file, else to the cwd.
The baseline runs with the same network and, by default, the same swept arch values as
the point (`baseline: {design: ParaPIM, apply_sweep_overrides: false}` keeps it fixed).

Everything is checked before anything runs: every point's arch is loaded with its
overrides, and an error names the spec file and the key in it (`grid.chip.rowz`,
`points[2].sparsity`, `designs[0].overrides.chip.rows`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import os
import re
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import Any

from imcsim.arch import Arch, load_arch
from imcsim.config.fields import is_int_in
from imcsim.errors import ConfigError, ImcsimError
from imcsim.shipped import resolve_design
from imcsim.workload.layer import MAX_BATCH, check_batch

MAX_POINTS = 100_000  # a sweep's points: each is at least one simulation
TOP_KEYS = ("description", "designs", "baseline", "networks", "grid", "points")
DESIGN_KEYS = ("name", "arch", "overrides")
BASELINE_KEYS = ("design", "apply_sweep_overrides")
AXES = ("design", "net", "sparsity", "seed", "batch")  # any other axis: a dotted arch key


@dataclass(frozen=True)
class Design:
    """One named arch config of the spec; `arch` is validated with its own overrides."""

    name: str
    arch_path: Path
    overrides: dict[str, Any]
    where: str  # its key path in the spec, e.g. "designs[1]"
    arch: Arch


@dataclass(frozen=True)
class Point:
    """One evaluation: a design on a network, with its sweep values and effective archs."""

    index: int
    id: str  # hash of the canonical JSON of (design, net, sparsity, seed, overrides)
    design: str
    net: str
    sparsity: float | None  # None: the TWN quantizer
    seed: int
    overrides: tuple[tuple[str, Any], ...]  # swept arch keys this point sets (canonical)
    columns: tuple[tuple[str, Any], ...]  # effective value of every swept arch key
    arch: Arch
    baseline_name: str | None
    baseline: Arch | None
    config: str  # digest of every input of the result (effective archs, net, sparsity, seed)
    batch: int = 1  # inputs per run

    def describe(self) -> str:
        parts = [self.design, self.net, f"sparsity={self.sparsity}", f"seed={self.seed}"]
        parts += [f"batch={self.batch}"] if self.batch != 1 else []
        parts += [f"{k}={v}" for k, v in self.overrides]
        return ", ".join(parts)


@dataclass(frozen=True)
class SweepSpec:
    source: Path
    designs: tuple[Design, ...]
    baseline: str | None
    networks: tuple[str, ...]
    override_keys: tuple[str, ...]  # swept arch keys, in order of first appearance
    points: tuple[Point, ...]


def canonical_json(obj: Any) -> str:
    """One spelling of `obj`: sorted keys, no spaces, floats as repr."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True)


def digest(obj: Any, length: int = 16) -> str:
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:length]


def _err(message: str, source: str, key: str) -> ConfigError:
    return ConfigError(message, source=source, key=key)


def _read(path: Path) -> dict[str, Any]:
    from imcsim.config.yaml_file import read_yaml

    raw = read_yaml(path)
    for key in raw:
        if key not in TOP_KEYS:
            raise _err(f"unknown key (known: {', '.join(TOP_KEYS)})", str(path), str(key))
    return raw


def _resolve_arch(value: Any, spec_dir: Path, source: str, key: str) -> Path:
    if not isinstance(value, str) or not value:
        raise _err(f"expected a path to an arch YAML, got {value!r}", source, key)
    path = Path(value)
    candidates = [path] if path.is_absolute() else [spec_dir / path, path]
    for cand in candidates:
        if cand.is_file():
            return Path(os.path.normpath(cand))
    shipped = resolve_design(value)
    if shipped.is_file():
        return shipped
    raise _err(f"arch file {value!r} not found (relative to the spec file or the cwd, "
               "nor a shipped design)", source, key)


def _overrides(value: Any, source: str, key: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and k for k in value):
        raise _err("expected a mapping of dotted arch keys to values", source, key)
    return dict(value)


def _designs(raw: dict[str, Any], spec_dir: Path, source: str) -> tuple[Design, ...]:
    items = raw.get("designs")
    if not isinstance(items, list) or not items:
        raise _err("expected a non-empty list of designs ({name, arch, overrides})", source,
                   "designs")
    designs: list[Design] = []
    for i, item in enumerate(items):
        where = f"designs[{i}]"
        if not isinstance(item, dict):
            raise _err("expected a mapping {name, arch, overrides}", source, where)
        for k in item:
            if k not in DESIGN_KEYS:
                raise _err(f"unknown key (known: {', '.join(DESIGN_KEYS)})", source,
                           f"{where}.{k}")
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise _err(f"expected a non-empty name, got {name!r}", source, f"{where}.name")
        if any(d.name == name for d in designs):
            raise _err(f"duplicate design name {name!r}", source, f"{where}.name")
        path = _resolve_arch(item.get("arch"), spec_dir, source, f"{where}.arch")
        overrides = _overrides(item.get("overrides"), source, f"{where}.overrides")
        where_of = {k: f"{where}.overrides.{k}" for k in overrides}
        arch = _load(path, overrides, where_of, source, f"{where}.arch")
        designs.append(Design(name, path, overrides, where, arch))
    return tuple(designs)


def _load(path: Path, overrides: dict[str, Any], where_of: dict[str, str], source: str,
          fallback: str) -> Arch:
    """load_arch, with an error re-keyed to the spec entry that caused it."""
    try:
        return load_arch(path, overrides)
    except ImcsimError as exc:
        bad = exc.key or ""
        for k, where in where_of.items():
            if bad == k or bad.startswith(k + "."):
                hint = ("" if "." in k else
                        f" (sweep axes: {', '.join(AXES)}, or a dotted arch key)")
                if exc.bare_message.startswith(("unknown key", "no such section")):
                    where = re.sub(r"\[\d+\]$", "", where)  # the axis, not one value
                raise _err(f"{exc.bare_message} in arch {path}{hint}", source, where) from None
        raise _err(str(exc), source, fallback) from None


def _baseline(raw: dict[str, Any], designs: tuple[Design, ...],
              source: str) -> tuple[str | None, bool]:
    value = raw.get("baseline")
    follow = True
    if value is None:
        return None, follow
    key = "baseline"
    if isinstance(value, dict):
        for k in value:
            if k not in BASELINE_KEYS:
                raise _err(f"unknown key (known: {', '.join(BASELINE_KEYS)})", source,
                           f"baseline.{k}")
        follow = value.get("apply_sweep_overrides", True)
        if not isinstance(follow, bool):
            raise _err(f"expected true or false, got {follow!r}", source,
                       "baseline.apply_sweep_overrides")
        value, key = value.get("design"), "baseline.design"
    names = [d.name for d in designs]
    if value not in names:
        raise _err(f"unknown design {value!r} (designs: {', '.join(names)})", source, key)
    return value, follow


def _check_axis_value(axis: str, value: Any, names: dict[str, tuple[str, ...]], source: str,
                      key: str) -> Any:
    if axis == "sparsity":
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, Real) \
                or math.isnan(float(value)) or not 0.0 <= float(value) < 1.0:
            raise _err(f"sparsity must be a number in [0, 1) or null, got {value!r}", source,
                       key)
        return float(value)
    if axis == "seed":
        if not is_int_in(value, 0):
            raise _err(f"seed must be a non-negative integer, got {value!r}", source, key)
        return int(value)
    if axis == "batch":
        if not is_int_in(value, 1, MAX_BATCH):
            raise _err(f"batch must be an integer in [1, {MAX_BATCH}], got {value!r}", source,
                       key)
        return int(value)
    if axis in names:
        if value not in names[axis]:
            raise _err(f"unknown {axis} {value!r} (known: {', '.join(names[axis])})", source,
                       key)
    return value


def _networks(raw: dict[str, Any], source: str) -> tuple[str, ...]:
    from imcsim.workload.zoo import ZOO

    value = raw.get("networks")
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        raise _err("expected a non-empty list of network names", source, "networks")
    known = tuple(sorted(ZOO))
    for i, name in enumerate(value):
        _check_axis_value("net", name, {"net": known}, source, f"networks[{i}]")
        if name in value[:i]:
            raise _err(f"duplicate network {name!r}", source, f"networks[{i}]")
    return tuple(value)


Assignment = dict[str, tuple[Any, str]]  # axis -> (value, its key path in the spec)


def _assignments(raw: dict[str, Any], names: dict[str, tuple[str, ...]],
                 networks: tuple[str, ...], source: str) -> list[tuple[str, Assignment]]:
    """The raw points in expansion order: (where, axis -> (checked value, where))."""
    if "grid" in raw and "points" in raw:
        raise _err("give either grid or points, not both", source, "points")
    if "points" in raw:
        pts = raw["points"]
        if not isinstance(pts, list) or not pts:
            raise _err("expected a non-empty list of points (mappings of axis: value)",
                       source, "points")
        if len(pts) > MAX_POINTS:
            raise _err(f"{len(pts):,} points; at most {MAX_POINTS:,}", source, "points")
        out = []
        for j, pt in enumerate(pts):
            if not isinstance(pt, dict) or not all(isinstance(k, str) for k in pt):
                raise _err("expected a mapping of axis: value", source, f"points[{j}]")
            out.append((f"points[{j}]", {
                ax: (_check_axis_value(ax, v, names, source, f"points[{j}].{ax}"),
                     f"points[{j}].{ax}") for ax, v in pt.items()}))
        return out
    grid = raw.get("grid", {} if "grid" not in raw else None)
    if not isinstance(grid, dict) or ("grid" in raw and not grid):
        raise _err("empty grid: expected a mapping of axis: [values]", source, "grid")
    axes: list[list[tuple[str, Any, str]]] = []
    for ax, values in grid.items():
        key = f"grid.{ax}"
        if not isinstance(ax, str) or not ax:
            raise _err("axis names must be non-empty strings", source, "grid")
        if not isinstance(values, list) or not values:
            raise _err(f"expected a non-empty list of values, got {values!r}", source, key)
        checked = [(ax, _check_axis_value(ax, v, names, source, f"{key}[{i}]"), f"{key}[{i}]")
                   for i, v in enumerate(values)]
        axes.append(checked)
    first = []
    for ax in ("design", "net"):  # outermost, every design / network unless an axis
        given = [a for a in axes if a[0][0] == ax]
        if not given and ax == "net" and not networks:
            raise _err("missing: give networks, or a net axis", source, "networks")
        first += given or [[(ax, v, "") for v in (names["design"] if ax == "design"
                                                   else networks)]]
    ordered = first + [a for a in axes if a[0][0] not in ("design", "net")]
    size = math.prod(len(a) for a in ordered)
    if size > MAX_POINTS:
        raise _err(f"the grid has {size:,} points; at most {MAX_POINTS:,} (split the sweep "
                   "into several specs)", source, "grid")
    return [("grid", {ax: (v, where) for ax, v, where in combo})
            for combo in itertools.product(*ordered)]


def get_dotted(arch: Arch, dotted: str) -> Any:
    """The effective value of a dotted arch key, JSON-able (a section becomes a dict)."""
    node: Any = arch
    for part in dotted.split("."):
        node = getattr(node, part)
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return dataclasses.asdict(node)
    return node


def arch_digest(arch: Arch | None) -> str | None:
    """A digest of an arch's values (not of the file it came from)."""
    if arch is None:
        return None
    values = dataclasses.asdict(arch)
    values.pop("source", None)
    return digest(values, 32)


class _Archs:
    """Loads (once) the effective arch of a design with a point's swept values, and the
    digest of its values."""

    def __init__(self, designs: tuple[Design, ...], source: str):
        self.by_name = {d.name: d for d in designs}
        self.source = source
        self.cache: dict[tuple[str, str], tuple[Arch, str]] = {}

    def get(self, name: str, swept: Assignment) -> tuple[Arch, str]:
        key = (name, canonical_json({k: repr(v) for k, (v, _) in swept.items()}))
        if key not in self.cache:
            design = self.by_name[name]
            arch = design.arch
            if swept:
                where_of = {k: f"{design.where}.overrides.{k}" for k in design.overrides}
                where_of.update({k: where for k, (_, where) in swept.items()})
                values = {**design.overrides, **{k: v for k, (v, _) in swept.items()}}
                arch = _load(design.arch_path, values, where_of, self.source,
                             f"{design.where}.arch")
            values_digest = arch_digest(arch)
            assert values_digest is not None  # None only for no arch
            self.cache[key] = (arch, values_digest)
        return self.cache[key]


def _expand(where: str, assignment: Assignment, spec: SweepSpec, follow: bool,
            archs: _Archs, batch: int = 1) -> list[Point]:
    """The points of one assignment: each of its designs on each of its networks."""
    swept = {k: v for k, v in assignment.items() if k not in AXES}
    designs = ([assignment["design"][0]] if "design" in assignment
               else [d.name for d in spec.designs])
    if "net" in assignment:
        nets = [assignment["net"][0]]
    elif spec.networks:
        nets = list(spec.networks)
    else:
        raise _err("missing: give networks, or a net in every point", str(spec.source),
                   "networks")
    sparsity = assignment.get("sparsity", (None, ""))[0]
    seed = assignment.get("seed", (0, ""))[0]
    batch = assignment.get("batch", (batch, ""))[0]
    # batch 1 leaves the digests as they were before batches (journals stay valid)
    batched = {"batch": batch} if batch != 1 else {}
    out = []
    for name, net in itertools.product(designs, nets):
        arch, arch_id = archs.get(name, swept)
        base, base_id = (archs.get(spec.baseline, swept if follow else {}) if spec.baseline
                         else (None, None))
        canon = {k: get_dotted(arch, k) for k in swept}
        pid = digest({"design": name, "net": net, "sparsity": sparsity, "seed": seed,
                      "overrides": canon, **batched})
        config = digest({"arch": arch_id, "baseline": base_id, "net": net,
                         "sparsity": sparsity, "seed": seed, **batched}, 32)
        out.append(Point(index=-1, id=pid, design=name, net=net, sparsity=sparsity,
                         seed=seed, overrides=tuple(canon.items()), columns=(), arch=arch,
                         baseline_name=spec.baseline, baseline=base, config=config,
                         batch=batch))
    return out


def load_spec(path: str | Path, batch: int = 1) -> SweepSpec:
    """Read, validate and expand the sweep spec at `path` (ConfigError on any problem);
    `batch`: the inputs per run of points that do not sweep it."""
    from imcsim.workload.zoo import ZOO

    check_batch(batch)
    path = Path(path)
    source = str(path)
    raw = _read(path)
    designs = _designs(raw, path.parent, source)
    baseline, follow = _baseline(raw, designs, source)
    networks = _networks(raw, source)
    if networks and isinstance(raw.get("grid"), dict) and "net" in raw["grid"]:
        raise _err("networks is given too: sweep networks with one of the two", source,
                   "grid.net")
    names = {"design": tuple(d.name for d in designs), "net": tuple(sorted(ZOO))}
    spec = SweepSpec(source=path, designs=designs, baseline=baseline, networks=networks,
                     override_keys=(), points=())
    archs = _Archs(designs, source)
    points: list[Point] = []
    seen: dict[str, Point] = {}
    for where, assignment in _assignments(raw, names, networks, source):
        for p in _expand(where, assignment, spec, follow, archs, batch):
            if p.id in seen:
                raise _err(f"duplicate point ({p.describe()}) also at #{seen[p.id].index}",
                           source, where)
            p = dataclasses.replace(p, index=len(points))
            seen[p.id] = p
            points.append(p)
    keys = tuple(dict.fromkeys(k for a in (p.overrides for p in points) for k, _ in a))
    points = [dataclasses.replace(p, columns=tuple((k, get_dotted(p.arch, k)) for k in keys))
              for p in points]
    return dataclasses.replace(spec, override_keys=keys, points=tuple(points))
