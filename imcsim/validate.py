"""Check the shipped reference designs against their published figures.

Each reference design is a folder `imcsim/reference/designs/<name>/` whose
`reference.yaml` gives its config (a shipped design), citation, paper tests and checks.
A check names a probe (`reference.probes`: what to run, with its arguments), the key of
the probe's document to read, and the published figure: a number, a `law` (law / (1 - s)
at each of its `sparsities`), a `formula` over the probe's arguments and document
(e.g. ``2 ** bits``), with a relative `tolerance`, or a `bound` ({max: X} and / or
{min: X}: a published "less than" / "more than" claim; the optional tolerance widens
it relatively); `basis` says whether the figure calibrated a parameter, must emerge
from the model, or is an explained deviation: an `ablation` (overrides of the design's
arch, or of a circuit study's config, naming the cause) under which the figure lands
within the tolerance, the full model's value reported beside it. `reported` entries
(name, probe, key, published, reason) are published figures the model does not
reproduce: validate prints the model's value beside them and why, and does not count
them as checks. A check's value is its probe's key, or with `minus` ({probe, key}) that
key less another probe's (a gain, a loss against a baseline). Nothing here knows a kind
of design: the probes do the work.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from imcsim.errors import UsageError
from imcsim.reference.probes import PROBES

BASES = ("calibrated", "emergent", "explained")


def reference_designs() -> dict[str, dict[str, Any]]:
    """Every reference design's data, by name."""
    root = resources.files("imcsim.reference").joinpath("designs")
    out = {}
    for folder in sorted(root.iterdir(), key=lambda p: p.name):
        ref = folder.joinpath("reference.yaml")
        if ref.is_file():
            out[folder.name] = yaml.safe_load(ref.read_text())
    return out


def published_points(design: str, baseline: str, network: str) -> dict[str, tuple[float,
                                                                                  float]]:
    """{key: (sparsity, published value)} of `design`'s comparisons with `baseline` on
    `network` at one sparsity (reference design and config names, e.g. fat, parapim)."""
    ref = reference_designs().get(design, {})
    out = {}
    for spec in ref.get("checks", []):
        args = spec["probe"].get("compare") or {}
        if (args.get("baseline") == baseline and args.get("network") == network
                and args.get("sparsity") is not None and "published" in spec):
            out[spec["key"]] = (float(args["sparsity"]), float(spec["published"]))
    return out


def _lookup(doc: dict[str, Any], dotted: str, where: str) -> float:
    node: Any = doc
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise UsageError(f"{where} has no {dotted} (is the design of the kind its "
                             f"probe expects?)", key="arch")
        node = node[part]
    return float(node)


_BINARY: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow}


def formula_value(text: str, names: dict[str, Any]) -> float:
    """A published law as arithmetic over `names` (numbers, + - * / **, parentheses)."""
    def value(node: ast.AST) -> float:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.Name) and isinstance(names.get(node.id), (int, float)):
            return float(names[node.id])
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return float(_BINARY[type(node.op)](value(node.left), value(node.right)))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -value(node.operand)
        raise UsageError(f"formula {text!r}: only numbers, names of the probe's arguments "
                         "and document, and + - * / ** are allowed", key="formula")
    return value(ast.parse(text, mode="eval").body)


class _Probes:
    """Each probe run once per (probe, arguments, overrides), for every check that reads it."""

    def __init__(self, seed: int):
        self.seed = seed
        self.cache: dict[str, dict[str, Any]] = {}

    def __call__(self, probe: dict[str, Any], design: Path,
                 overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        (name, args), = probe.items()
        fn, takes_design = PROBES[name]
        args = dict(args or {})
        if "seed" in fn.__kwdefaults__:  # type: ignore[operator]
            args.setdefault("seed", self.seed)
        if overrides:
            args["overrides"] = overrides
        key = repr((name, str(design) if takes_design else None, sorted(args.items())))
        if key not in self.cache:
            self.cache[key] = fn(design, **args) if takes_design else fn(**args)
        return self.cache[key]


def _expanded(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """A law's check once per sparsity, else the check itself."""
    if "law" not in spec:
        return [spec]
    out = []
    for s in spec["sparsities"]:
        (name, args), = spec["probe"].items()
        out.append({**spec, "name": f"{spec['name']}, {s:.0%} sparsity",
                    "probe": {name: {**args, "sparsity": s}},
                    "published": float(spec["law"]) / (1 - s)})
    return out


def _value(spec: dict[str, Any], probes: _Probes, config: Path, where: str,
           overrides: dict[str, Any] | None = None) -> tuple[float, dict[str, Any]]:
    """The check's value (the probe's key, less the `minus` probe's key if given) and the
    probe's document."""
    doc = probes(spec["probe"], config, overrides)
    value = _lookup(doc, spec["key"], where)
    if "minus" in spec:
        other = spec["minus"]
        value -= _lookup(probes(other["probe"], config, overrides), other["key"], where)
    return value, doc


def _bound(spec: dict[str, Any], where: str) -> tuple[float | None, float | None]:
    """(min, max) of a check's `bound` (either may be None, not both)."""
    bound = spec["bound"]
    if not isinstance(bound, dict) or not bound or set(bound) - {"min", "max"}:
        raise UsageError(f"{where}: bound must be {{max: X}}, {{min: X}} or both",
                         key="bound")
    lo, hi = (None if bound.get(k) is None else float(bound[k]) for k in ("min", "max"))
    if lo is None and hi is None:
        raise UsageError(f"{where}: bound must give a number", key="bound")
    return lo, hi


def bound_error(value: float, lo: float | None, hi: float | None) -> float:
    """How far `value` lies outside [lo, hi], relative to the bound it passes (0 inside)."""
    over = (value - hi) / abs(hi) if hi is not None and value > hi else 0.0
    under = (lo - value) / abs(lo) if lo is not None and value < lo else 0.0
    return max(over, under)


def _check(design: str, spec: dict[str, Any], probes: _Probes, config: Path,
           source: str) -> dict[str, Any]:
    where = f"{design}: {spec['name']}"
    value, doc = _value(spec, probes, config, where)
    (_, args), = spec["probe"].items()
    bound = _bound(spec, where) if "bound" in spec else None
    if "formula" in spec:
        scalars = {k: v for k, v in doc.items() if isinstance(v, (int, float))}
        pub = formula_value(spec["formula"], {**scalars, **(args or {})})
    elif bound is not None:
        pub = next(v for v in (bound[1], bound[0]) if v is not None)
    else:
        pub = float(spec["published"])
    basis = spec["basis"]
    if basis not in BASES:
        raise UsageError(f"{where}: basis must be one of {', '.join(BASES)}", key="basis")
    tol = float(spec.get("tolerance", 0.0) if bound is not None else spec["tolerance"])
    out: dict[str, Any] = {"design": design, "name": spec["name"], "published": pub,
                           "tolerance": tol, "basis": basis,
                           "calibrated": basis == "calibrated",
                           "source": spec.get("source", source)}
    if bound is not None:
        out["bound"] = {k: v for k, v in zip(("min", "max"), bound, strict=True)
                        if v is not None}
    if "formula" in spec:
        out["formula"] = spec["formula"]
    if "note" in spec:
        out["note"] = spec["note"]
    checked = value
    if "ablation" in spec:
        ablation = spec["ablation"]
        checked, _ = _value(spec, probes, config, where, ablation["overrides"])
        out["explanation"] = {"ablation": ablation["name"],
                              "overrides": dict(ablation["overrides"]),
                              "explanation": ablation["explanation"], "value": checked,
                              "full_model": value,
                              "full_model_error": (value - pub) / abs(pub)}
    if bound is not None:
        error = bound_error(checked, *bound)
    else:
        error = abs(checked - pub) / abs(pub) if pub else abs(checked)
    out.update({"simulated": checked, "relative_error": error, "pass": error <= tol + 1e-12})
    return out


def _reported(design: str, spec: dict[str, Any], probes: _Probes, config: Path
              ) -> dict[str, Any]:
    """A published figure the model does not reproduce: the model's value and why."""
    where = f"{design}: {spec['name']}"
    value = _lookup(probes(spec["probe"], config), spec["key"], where)
    return {"design": design, "name": spec["name"], "published": float(spec["published"]),
            "simulated": value, "reason": spec["reason"]}


def validate(designs: list[str] | None = None, *, arch: str | Path | None = None,
             baseline: str | Path | None = None, seed: int = 0) -> dict[str, Any]:
    """Every published figure of the named reference designs (default: all) beside the
    simulated one: {"files": the configs used, "checks": [...], "reported": [...]}.
    `arch` replaces the config of the one design checked, `baseline` the baseline of
    its comparisons."""
    from imcsim.shipped import resolve_design

    refs = reference_designs()
    names = list(designs or refs)
    unknown = [n for n in names if n not in refs]
    if unknown:
        raise UsageError(f"no reference design {', '.join(unknown)} (known: "
                         f"{', '.join(refs)})", key="design")
    if arch is not None and len(names) != 1:
        raise UsageError("--arch replaces one design's config: name that design (for "
                         "example `imcsim validate fat --arch my_fat.yaml`)", key="arch")
    probes = _Probes(seed)
    files: dict[str, str] = {}
    checks = []
    reported = []
    for name in names:
        ref = refs[name]
        config = resolve_design(arch if arch is not None else ref["config"])
        files[name] = str(config)
        for spec in ref["checks"]:
            for one in _expanded(spec):
                if baseline is not None and "compare" in one["probe"]:
                    one = {**one, "probe": {"compare": {**one["probe"]["compare"],
                                                        "baseline": str(baseline)}}}
                    files[f"{name} baseline"] = str(resolve_design(baseline))
                elif "compare" in one["probe"]:
                    base = one["probe"]["compare"]["baseline"]
                    files[f"{name} baseline"] = str(resolve_design(base))
                checks.append(_check(name, one, probes, config, ref["citation"]))
        reported += [_reported(name, spec, probes, config) for spec in ref.get("reported", [])]
    return {"files": files, "checks": checks, "reported": reported}
