"""The linear hook interface of `graph_exec`: every weight layer's product goes through

    linear(call: LinearCall) -> (rows, out_channels) array

so the same executor runs the exact float/integer reference, the bit-exact digital path
and noisy analog or photonic models. `part_weights` gives the weights of a
`weight_parts.WeightPart` (ConvTranspose, LSTM/GRU/RNN, Einsum) in the layer's (out,
fan-in) arrangement, as `lower` maps them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from imcsim.workload.graph import Graph, Node, node_key
from imcsim.workload.weight_parts import WeightPart, part_scale


@dataclass(frozen=True)
class QuantInfo:
    """real = scale * (q - zero_point), q integer in [lo, hi]."""

    scale: np.ndarray
    zero_point: np.ndarray
    bits: int
    signed: bool


@dataclass
class LinearCall:
    node: Node
    rows: np.ndarray  # (R, F) float64 inputs (im2col rows for a Conv)
    weights: np.ndarray  # (O, F) float64 real weights
    levels: np.ndarray | None  # (O, F) integer levels if the weights are quantized
    scale: np.ndarray | None  # (O,) real step per output channel
    x_quant: QuantInfo | None  # how `rows` were quantized, if known
    group: int = 0  # conv group of this call
    layer: str = ""  # the ComputeLayer computed, when not the node's name (an LSTM's W/R)
    # inputs (images) the rows come from, sample-major (each input's rows contiguous,
    # rows // inputs apiece); 0: not known (the rows are one signal)
    inputs: int = 0

    @property
    def layer_name(self) -> str:
        """The name of the weight layer this product belongs to (`lower`'s)."""
        return self.layer or self.node.name


LinearHook = Callable[[LinearCall], np.ndarray]


def exact_linear(call: LinearCall) -> np.ndarray:
    """The float64 reference product."""
    return call.rows @ call.weights.T


@dataclass
class MatmulCall:
    """A MatMul of two activations (attention): a (..., M, K) x b (..., K, N), and how
    each operand was quantized when it comes straight from a quantizer."""

    node: Node
    a: np.ndarray
    b: np.ndarray
    a_quant: QuantInfo | None
    b_quant: QuantInfo | None


MatmulHook = Callable[[MatmulCall], np.ndarray]


def exact_matmul(call: MatmulCall) -> np.ndarray:
    """The float64 reference product of two activations (numpy's broadcasting)."""
    return np.matmul(call.a, call.b)


@dataclass(frozen=True)
class PartWeights:
    """A weight part's real weights (O, F), and levels (O, F) and scale (O,) if the
    stored weight is quantized."""

    real: np.ndarray
    levels: np.ndarray | None
    scale: np.ndarray | None


def part_weights(graph: Graph, node: Node, part: WeightPart, env: dict[str, np.ndarray],
                 src: str) -> PartWeights:
    """The weights of `part` in its layer's arrangement (see `weight_parts`)."""
    name = node.inputs[part.input]
    t = graph.initializers.get(name)
    if t is not None and t.is_quantized and t.data is not None:
        stored = np.asarray(t.data, np.int64)
        levels = part.arrange(stored)
        levels = levels.reshape(levels.shape[0], -1)
        scale = part_scale(t.scale, stored.shape, part, src, node_key(node)).astype(np.float64)
        return PartWeights(levels * scale[:, None], levels, scale)
    real = part.arrange(np.asarray(env[name], np.float64))
    return PartWeights(real.reshape(real.shape[0], -1), None, None)
