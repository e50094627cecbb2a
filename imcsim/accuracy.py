"""`imcsim run --accuracy`: a network's accuracy as the arch computes it, beside the exact
(integer/float reference) accuracy, on a labelled held-out set.

The hook comes from the arch's design kind (`DesignKind.accuracy_hook`): bit-serial
designs compute exact integer products (optionally through the real micro-programs,
`functional=True`, or with stored-weight bit flips); photonic cores add shot/thermal/weight
noise averaged over K repeats; analog crossbars add device programming noise, drift and
read noise and converter quantization.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from imcsim.designs.base import ArchBase as Arch
from imcsim.designs.protocol import HookOptions
from imcsim.designs.registry import design_kind
from imcsim.errors import UsageError, WorkloadError
from imcsim.functional.accuracy import accuracy
from imcsim.functional.graph_exec import LinearHook

MAX_DRIFT_S = 100 * 31557600.0
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, "y": 31557600.0}


def parse_duration(text: str) -> float:
    """'1d', '3600', '3600s', '10m', '2.5h', '1w', '1y' -> seconds (>= 0)."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([smhdwy]?)\s*", str(text))
    if not m:
        raise UsageError(f"cannot parse duration {text!r} (e.g. 3600, 10m, 2h, 1d, 1y)",
                         key="drift_time")
    seconds = float(m.group(1)) * _UNITS[m.group(2) or "s"]
    if not math.isfinite(seconds) or seconds > MAX_DRIFT_S:
        raise UsageError(f"must be at most {MAX_DRIFT_S:g} s (100 years), got {text!r}",
                         key="drift_time")
    return seconds


def load_dataset(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """A held-out set: an .npz with `images` (as the graph input expects) and `labels`."""
    source = str(path)
    try:
        with np.load(path) as data:
            return np.asarray(data["images"], dtype=np.float64), np.asarray(data["labels"])
    except FileNotFoundError:
        raise WorkloadError("dataset file not found", source=source, key="dataset") from None
    except KeyError as exc:
        raise WorkloadError(f"dataset lacks array {exc}", source=source, key="dataset") from None
    except (OSError, ValueError) as exc:
        raise WorkloadError(f"cannot read dataset: {exc}", source=source,
                            key="dataset") from None


def default_dataset(net: str) -> Path:
    """`test_split.npz` beside a network file."""
    path = Path(net)
    if not path.suffix:
        raise UsageError("accuracy needs a network file with a labelled set beside it "
                         "(test_split.npz) or a dataset", key="net")
    return path.parent / "test_split.npz"


def make_hook(arch: Arch, rng: np.random.Generator, *, drift_time_s: float = 0.0,
              bit_flip_rate: float = 0.0, functional: bool = False) -> tuple[LinearHook, str]:
    """The linear hook that computes products as `arch` does (its design kind's), and a
    description."""
    options = HookOptions(drift_time_s=drift_time_s, bit_flip_rate=bit_flip_rate,
                          functional=functional)
    return design_kind(arch.kind, source=arch.source).accuracy_hook(arch, rng, options)


def evaluate(arch: Arch, net: str, *, dataset: str | None = None, seed: int = 0,
             drift_time_s: float = 0.0, bit_flip_rate: float = 0.0, functional: bool = False,
             samples: int | None = None) -> dict[str, Any]:
    from imcsim.workload.loader import read_graph

    if not 0.0 <= bit_flip_rate <= 1.0:
        raise UsageError(f"must be in [0, 1], got {bit_flip_rate}", key="bit_flip_rate")
    if samples is not None and (isinstance(samples, bool) or samples < 1):
        raise UsageError(f"must be at least 1, got {samples}", key="samples")
    graph = read_graph(net)
    images, labels = load_dataset(dataset or default_dataset(net))
    if samples is not None:
        images, labels = images[:samples], labels[:samples]
    rng = np.random.default_rng(seed)
    hook, desc = make_hook(arch, rng, drift_time_s=drift_time_s, bit_flip_rate=bit_flip_rate,
                           functional=functional)
    options = HookOptions(drift_time_s=drift_time_s, bit_flip_rate=bit_flip_rate,
                          functional=functional)
    matmul = design_kind(arch.kind, source=arch.source).matmul_hook(arch, options)
    if matmul is not None:
        desc += "; activation x activation products through the multiply micro-program"
    reference = accuracy(graph, images, labels)
    simulated = accuracy(graph, images, labels, hook, matmul=matmul)
    return {"reference": reference.value, "simulated": simulated.value,
            "samples": reference.samples, "model": desc, "seed": seed,
            "drift_time_s": drift_time_s}
