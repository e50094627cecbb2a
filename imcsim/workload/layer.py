"""The hardware-facing view of a network: a flat list of weight layers with their shapes.

Everything downstream of the workload package (mapping, engine, functional execution)
sees only `ComputeLayer` and `Network`. Graph readers (zoo, native format, ONNX) build a
graph, infer shapes and lower it to this list.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ComputeLayer:
    """One weight layer (convolution or fully connected), batch 1.

    `weights` holds quantized integer levels, shape (out_channels, in_channels // groups,
    kernel_h, kernel_w); for ternary layers the values are in {-1, 0, +1}. `scale` is the
    per-output-channel real scale (weight = scale[o] * weights[o]). A fully connected
    layer is a 1x1 convolution over a 1x1 input.
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
    has_bias: bool = False

    @property
    def fan_in(self) -> int:
        """Inputs summed per output value: in_channels/groups * kernel_h * kernel_w."""
        return (self.in_channels // self.groups) * self.kernel[0] * self.kernel[1]

    @property
    def out_pixels(self) -> int:
        return self.out_hw[0] * self.out_hw[1]

    @property
    def macs(self) -> int:
        return self.out_pixels * self.out_channels * self.fan_in

    @property
    def weight_count(self) -> int:
        return self.out_channels * self.fan_in


@dataclass(frozen=True)
class Network:
    """A lowered network: its weight layers in execution order plus bookkeeping."""

    name: str
    layers: tuple[ComputeLayer, ...]
    total_params: int  # all trainable parameters of the source model (incl. BN, biases)
    input_shape: tuple[int, int, int]  # C, H, W
    quantizer: str  # description of how the weights were quantized, with seed
    source: str  # zoo name or file path

    @property
    def total_macs(self) -> int:
        return sum(layer.macs for layer in self.layers)
