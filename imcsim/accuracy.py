"""`imcsim run --accuracy`: a network's accuracy as the arch computes it, beside the exact
(integer/float reference) accuracy, on a labelled held-out set.

The hook comes from the arch's design kind (`DesignKind.accuracy_hook`): bit-serial
designs compute exact integer products (optionally through the real micro-programs,
`functional=True`, or with stored-weight bit flips); photonic cores add shot/thermal/weight
noise averaged over K repeats; analog crossbars add device programming noise, drift and
read noise and converter quantization. `snr_db` injects additive analog noise at that
signal-to-noise power ratio on every weight layer's product of an analog design
(`functional.noisy.snr_noise`); `votes` K reports the accuracy of the majority class over
K noisy inferences of each input (`functional.accuracy.majority`).
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
SNR_DB_RANGE = (-60.0, 200.0)  # noise power 10^6 x the signal's .. none to speak of
MAX_VOTES = 1000  # inferences per input (each a full pass over the set)
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


def check_snr_db(value: object) -> float | None:
    """A signal-to-noise power ratio in dB within SNR_DB_RANGE (None: no noise)."""
    if value is None:
        return None
    lo, hi = SNR_DB_RANGE
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not lo <= float(value) <= hi):
        raise UsageError(f"must be a number of dB in [{lo:g}, {hi:g}], got {value!r}",
                         key="snr_db")
    return float(value)


def check_votes(value: object) -> int:
    """Inferences per input for a majority vote: an integer in [1, MAX_VOTES]."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_VOTES:
        raise UsageError(f"must be an integer in [1, {MAX_VOTES}], got {value!r}",
                         key="votes")
    return value


def make_hook(arch: Arch, rng: np.random.Generator, *, drift_time_s: float = 0.0,
              bit_flip_rate: float = 0.0, functional: bool = False,
              snr_db: float | None = None) -> tuple[LinearHook, str]:
    """The linear hook that computes products as `arch` does (its design kind's), and a
    description."""
    kind = design_kind(arch.kind, source=arch.source)
    if snr_db is not None and not kind.analog_noise:
        raise UsageError(f"injected analog noise needs an analog design (crossbar, "
                         f"photonic); {arch.name} is a {kind.name} design", key="snr_db")
    options = HookOptions(drift_time_s=drift_time_s, bit_flip_rate=bit_flip_rate,
                          functional=functional, snr_db=snr_db)
    return kind.accuracy_hook(arch, rng, options)


def evaluate(arch: Arch, net: str, *, dataset: str | None = None, seed: int = 0,
             drift_time_s: float = 0.0, bit_flip_rate: float = 0.0, functional: bool = False,
             samples: int | None = None, snr_db: float | None = None,
             votes: int = 1) -> dict[str, Any]:
    """The exact (reference) and simulated accuracy of graph file `net` on `arch` (see
    the module docstring), every random draw from `seed`."""
    from imcsim.workload.loader import read_graph

    snr_db = check_snr_db(snr_db)
    votes = check_votes(votes)
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
                           functional=functional, snr_db=snr_db)
    options = HookOptions(drift_time_s=drift_time_s, bit_flip_rate=bit_flip_rate,
                          functional=functional)
    matmul = design_kind(arch.kind, source=arch.source).matmul_hook(arch, options)
    if matmul is not None:
        desc += "; activation x activation products through the multiply micro-program"
    if votes > 1:
        desc += f"; majority vote over {votes} inferences"
    reference = accuracy(graph, images, labels)
    simulated = accuracy(graph, images, labels, hook, matmul=matmul, votes=votes)
    return {"reference": reference.value, "simulated": simulated.value,
            "samples": reference.samples, "model": desc, "seed": seed,
            "drift_time_s": drift_time_s, "snr_db": snr_db, "votes": votes}
