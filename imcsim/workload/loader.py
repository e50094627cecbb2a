"""`load_network`: a named network from the zoo, quantized to ternary, lowered to layers."""

from __future__ import annotations

import math
import os
from functools import partial
from numbers import Integral, Real

from imcsim.errors import UsageError, WorkloadError
from imcsim.workload.graph import trainable_parameter_count
from imcsim.workload.layer import Network
from imcsim.workload.lower import Quantizer, lower
from imcsim.workload.quantize import TWN_DELTA_FACTOR, ternarize_to_sparsity, ternarize_twn
from imcsim.workload.zoo import ZOO

_FILE_SUFFIXES = (".yaml", ".yml", ".json", ".onnx")


def _check_sparsity(sparsity: object) -> float:
    if isinstance(sparsity, bool) or not isinstance(sparsity, Real):
        raise UsageError(f"sparsity must be a number in [0, 1), got {sparsity!r}",
                         key="--sparsity")
    s = float(sparsity)
    if math.isnan(s) or not 0.0 <= s < 1.0:
        raise UsageError(f"sparsity must be in [0, 1), got {sparsity!r}", key="--sparsity")
    return s


def _check_name(name: str) -> None:
    if name in ZOO:
        return
    known = ", ".join(sorted(ZOO))
    if os.sep in name or "/" in name or name.lower().endswith(_FILE_SUFFIXES):
        if not os.path.exists(name):
            raise WorkloadError(f"network file '{name}' does not exist (built-in networks: "
                                f"{known})", key="--net")
        raise WorkloadError(f"reading network files ('{name}') is not supported yet; "
                            f"built-in networks: {known}", key="--net")
    raise WorkloadError(f"unknown network '{name}'; known: {known}", key="--net")


def _format_sparsity(s: float) -> str:
    short = f"{s:.2f}"
    return short if float(short) == s else repr(s)


def load_network(name: str, *, sparsity: float | None = None, seed: int = 0) -> Network:
    """Build zoo network `name` with synthetic weights (seeded), ternarize, lower.

    sparsity=None: TWN (delta = 0.7 * mean|W| per layer); else the layer-wise top-k
    quantizer zeroing exactly round(sparsity * N) weights per layer, 0 <= sparsity < 1.
    Raises WorkloadError (key "--net") for an unknown name, UsageError (key
    "--sparsity" / "--seed") for a bad sparsity or seed.
    """
    if sparsity is not None:
        sparsity = _check_sparsity(sparsity)
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise UsageError(f"seed must be a non-negative integer, got {seed!r}", key="--seed")
    _check_name(name)
    quantize: Quantizer
    if sparsity is None:
        quantize = ternarize_twn
        desc = f"TWN (delta={TWN_DELTA_FACTOR}*mean|W|), seed {seed}"
    else:
        quantize = partial(ternarize_to_sparsity, sparsity=sparsity)
        desc = f"layer-wise top-k to sparsity {_format_sparsity(sparsity)}, seed {seed}"
    graph = ZOO[name](int(seed))
    layers = lower(graph, quantize, weight_bits=2, source=name)
    c, h, w = graph.inputs[0].known_shape[1:]
    return Network(name=name, layers=tuple(layers),
                   total_params=trainable_parameter_count(graph), input_shape=(c, h, w),
                   quantizer=desc, source=name)
