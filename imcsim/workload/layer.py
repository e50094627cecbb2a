"""The hardware-facing view of a network: a flat list of weight layers with their shapes.

Everything downstream of the workload package (mapping, engine, functional execution)
sees only `ComputeLayer` and `Network`. Graph readers (zoo, native format, ONNX) build a
graph, infer shapes and lower it to this list.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

MAX_BATCH = 4096  # inputs per run
SIGN_BLOCK = 1 << 22  # weights per block when counting signs (bool temporaries of 4 MiB)


def check_batch(batch: int) -> None:
    """A batch is 1 .. MAX_BATCH inputs (UsageError naming `batch` otherwise)."""
    from imcsim.errors import UsageError

    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= MAX_BATCH:
        raise UsageError(f"must be an integer in [1, {MAX_BATCH}], got {batch!r}", key="batch")


@dataclass(frozen=True)
class ComputeLayer:
    """One weight layer (convolution or fully connected), over `batch` inputs.

    `weights` holds quantized integer levels (int8), shape (out_channels, in_channels //
    groups, kernel_h, kernel_w); for ternary layers the values are in {-1, 0, +1}. `scale`
    is the per-output-channel real scale, float32 (out_channels,): weight = scale[o] *
    weights[o], with a following BatchNormalization's multiplier gamma/sqrt(var + eps)
    folded in (so it can be negative). A fully connected layer is a 1x1 convolution over
    a 1x1 input.
    """

    name: str
    kind: str  # "conv" | "fc"
    in_channels: int
    out_channels: int
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]  # top, left, bottom, right
    dilation: tuple[int, int]
    groups: int
    in_hw: tuple[int, int]
    out_hw: tuple[int, int]
    weights: np.ndarray = field(repr=False, compare=False)
    scale: np.ndarray = field(repr=False, compare=False)
    weight_bits: int = 2  # 2 = ternary
    has_bias: bool = False  # a bias add follows (own bias or a folded BatchNormalization)
    op: str = ""  # source graph op: "Conv", "Gemm" or "MatMul"
    weight_name: str = ""  # initializer the weights come from (shared weights share it)
    batch: int = 1  # inputs processed together: their output pixels side by side

    @property
    def fan_in(self) -> int:
        """Inputs summed per output value: in_channels/groups * kernel_h * kernel_w."""
        return (self.in_channels // self.groups) * self.kernel[0] * self.kernel[1]

    @property
    def out_pixels(self) -> int:
        """Output positions over the batch (batch x out_h x out_w): what a mapping spreads
        over its lanes; the weights are the same for every one."""
        return self.batch * self.out_hw[0] * self.out_hw[1]

    @property
    def macs(self) -> int:
        return self.out_pixels * self.out_channels * self.fan_in

    @property
    def weight_count(self) -> int:
        return self.out_channels * self.fan_in

    @cached_property
    def nonzero_weights(self) -> int:
        """Nonzero stored weights (counted once)."""
        return int(np.count_nonzero(self.weights))

    @cached_property
    def sign_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """Per output channel: its positive and its negative weights (counted once)."""
        w = self.weights.reshape(self.out_channels, -1)
        positive = np.empty(len(w), np.int64)
        negative = np.empty(len(w), np.int64)
        rows = max(1, SIGN_BLOCK // max(1, w.shape[1]))
        for r in range(0, len(w), rows):  # summing the bool bytes beats count_nonzero
            block = w[r:r + rows]
            positive[r:r + rows] = (block > 0).view(np.uint8).sum(axis=1, dtype=np.uint32)
            negative[r:r + rows] = (block < 0).view(np.uint8).sum(axis=1, dtype=np.uint32)
        return positive, negative

    @property
    def weight_sparsity(self) -> float:
        """Fraction of zero weights."""
        return float(1.0 - self.nonzero_weights / self.weight_count)


@dataclass(frozen=True)
class OpWork:
    """The work of one graph node that is not a weight layer, or of one that is (see
    `op_kinds` for how each op is classified and counted)."""

    name: str
    op: str
    kind: str  # "weight" | "activation" | "elementwise" | "reduction" | "data"
    macs: int  # multiply-accumulates: weight and activation kinds, else 0
    elements: int  # reduction: elements read; data: moved; elementwise: computed
    output_shape: tuple[int, ...]
    index: int  # position in the graph's node order


@dataclass(frozen=True)
class Network:
    """A lowered network: its weight layers in execution order plus bookkeeping."""

    name: str
    layers: tuple[ComputeLayer, ...]
    total_params: int  # all trainable parameters of the source model (incl. BN, biases)
    input_shape: tuple[int, ...]  # first graph input without the batch dim: C, H, W for CNNs
    quantizer: str  # description of how the weights were quantized, with seed
    source: str  # zoo name or file path
    # every other node's work (activation x activation matmuls, elementwise, reduction,
    # data movement; one input), in node order: designs run only `layers` for now
    other_ops: tuple[OpWork, ...] = ()
    meta: tuple[tuple[str, Any], ...] = ()  # facts of the source (e.g. a decode step's KV)

    @property
    def total_macs(self) -> int:
        """MACs of the weight layers (what the designs run)."""
        return sum(layer.macs for layer in self.layers)

    @property
    def activation_macs(self) -> int:
        """MACs of the Gemm/MatMul nodes between two activations (attention), one input."""
        return sum(op.macs for op in self.other_ops if op.kind == "activation")

    @property
    def batch(self) -> int:
        return self.layers[0].batch if self.layers else 1

    def batched(self, batch: int) -> Network:
        """The same network over `batch` inputs at once (every layer's output positions
        times `batch`)."""
        check_batch(batch)
        layers = tuple(dataclasses.replace(layer, batch=batch) for layer in self.layers)
        return dataclasses.replace(self, layers=layers)
