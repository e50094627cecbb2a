"""Per-layer weight statistics from the actual quantized weights (vectorised numpy)."""

from __future__ import annotations

from typing import Any

import numpy as np

from imcsim.workload.layer import ComputeLayer, Network


def _rows(layer: ComputeLayer) -> np.ndarray:
    """Weights as (out_channels, fan_in)."""
    return layer.weights.reshape(layer.out_channels, -1)


def nonzeros_per_channel(layer: ComputeLayer) -> np.ndarray:
    """Nonzero weights per output channel, int64 shape (out_channels,)."""
    return np.count_nonzero(_rows(layer), axis=1).astype(np.int64)


def sign_counts(layer: ComputeLayer) -> tuple[np.ndarray, np.ndarray]:
    """(positive, negative) weight counts per output channel, each int64 (out_channels,)."""
    rows = _rows(layer)
    pos = np.count_nonzero(rows > 0, axis=1).astype(np.int64)
    neg = np.count_nonzero(rows < 0, axis=1).astype(np.int64)
    return pos, neg


def layer_statistics(network: Network) -> list[dict[str, Any]]:
    """One dict per weight layer: name, kind, in/out_channels, kernel, stride, in_hw,
    out_hw, macs, params (= weight_count), weight_bits, sparsity (fraction of zero
    weights), nonzeros (total nonzero weights)."""
    out = []
    for layer in network.layers:
        nonzeros = int(np.count_nonzero(layer.weights))
        params = layer.weight_count
        out.append({
            "name": layer.name,
            "kind": layer.kind,
            "in_channels": layer.in_channels,
            "out_channels": layer.out_channels,
            "kernel": layer.kernel,
            "stride": layer.stride,
            "in_hw": layer.in_hw,
            "out_hw": layer.out_hw,
            "macs": layer.macs,
            "params": params,
            "weight_bits": layer.weight_bits,
            "sparsity": 1.0 - nonzeros / params if params else 0.0,
            "nonzeros": nonzeros,
        })
    return out
