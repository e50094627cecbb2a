"""Built-in networks as `Graph`s with SYNTHETIC weights (not trained ones).

Weights are deterministic He-normal draws, std = sqrt(2 / fan_in) (He et al. 2015), one
generator per weight tensor: `np.random.default_rng([seed, tensor_index])`, float32,
tensor_index counting Conv/Gemm weights in build order. BatchNormalization parameters are
the identity (scale 1, bias 0, mean 0, var 1) and biases are 0. They give realistic
weight statistics for performance/energy estimates, not accuracy.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from imcsim.workload.graph import Graph, Node, Tensor


class _Builder:
    """Appends nodes and initializers, tracking each activation's channel count."""

    def __init__(self, name: str, input_shape: tuple[int, int, int, int], seed: int):
        self.graph = Graph(name, [Tensor("input", input_shape)], [], [], {})
        self.channels = {"input": input_shape[1]}
        self.seed = seed
        self.n_weights = 0

    def _init(self, name: str, data: np.ndarray) -> str:
        self.graph.initializers[name] = Tensor(name, data.shape, str(data.dtype), data)
        return name

    def _he(self, name: str, shape: tuple[int, ...], fan_in: int) -> str:
        rng = np.random.default_rng([self.seed, self.n_weights])
        self.n_weights += 1
        w = rng.standard_normal(shape, dtype=np.float32)
        w *= np.float32(math.sqrt(2.0 / fan_in))
        return self._init(name, w)

    def _node(self, name: str, op: str, inputs: list[str], out_ch: int, **attrs) -> str:
        self.graph.nodes.append(Node(name, op, inputs, [name], attrs))
        self.channels[name] = out_ch
        return name

    def conv(self, name: str, x: str, out_ch: int, k: int, stride: int = 1,
             pad: int = 0) -> str:
        in_ch = self.channels[x]
        w = self._he(f"{name}.weight", (out_ch, in_ch, k, k), in_ch * k * k)
        return self._node(name, "Conv", [x, w], out_ch, kernel_shape=[k, k],
                          strides=[stride, stride], pads=[pad] * 4, dilations=[1, 1], group=1)

    def bn(self, name: str, x: str) -> str:
        c = self.channels[x]
        ones, zeros = np.ones(c, np.float32), np.zeros(c, np.float32)
        params = [self._init(f"{name}.{p}", v.copy()) for p, v in
                  (("weight", ones), ("bias", zeros), ("running_mean", zeros),
                   ("running_var", ones))]
        return self._node(name, "BatchNormalization", [x, *params], c, epsilon=1e-5)

    def relu(self, name: str, x: str) -> str:
        return self._node(name, "Relu", [x], self.channels[x])

    def add(self, name: str, a: str, b: str) -> str:
        return self._node(name, "Add", [a, b], self.channels[a])

    def maxpool(self, name: str, x: str, k: int, stride: int, pad: int) -> str:
        return self._node(name, "MaxPool", [x], self.channels[x], kernel_shape=[k, k],
                          strides=[stride, stride], pads=[pad] * 4, ceil_mode=0)

    def gap_fc(self, x: str, n_out: int) -> str:
        """GlobalAveragePool -> Flatten -> Gemm (transB=1, with bias), torchvision style."""
        c = self.channels[x]
        x = self._node("avgpool", "GlobalAveragePool", [x], c)
        x = self._node("flatten", "Flatten", [x], c, axis=1)
        w = self._he("fc.weight", (n_out, c), c)
        b = self._init("fc.bias", np.zeros(n_out, np.float32))
        y = self._node("fc", "Gemm", [x, w, b], n_out, alpha=1.0, beta=1.0, transB=1)
        self.graph.outputs.append(y)
        return y

    def basic_block(self, name: str, x: str, out_ch: int, stride: int) -> str:
        """BasicBlock: conv3x3-BN-ReLU-conv3x3-BN (+ shortcut) -> ReLU.

        Shortcut is identity, or 1x1/stride conv + BN when the shape changes (projection).
        """
        y = self.relu(f"{name}.relu1",
                      self.bn(f"{name}.bn1", self.conv(f"{name}.conv1", x, out_ch, 3, stride, 1)))
        y = self.bn(f"{name}.bn2", self.conv(f"{name}.conv2", y, out_ch, 3, 1, 1))
        if stride != 1 or self.channels[x] != out_ch:
            x = self.bn(f"{name}.downsample.1",
                        self.conv(f"{name}.downsample.0", x, out_ch, 1, stride, 0))
        return self.relu(f"{name}.relu2", self.add(f"{name}.add", y, x))


def resnet18(seed: int = 0) -> Graph:
    """ResNet-18 for ImageNet (1x3x224x224), torchvision layout, synthetic weights.

    conv1 7x7/2 p3 - BN - ReLU - maxpool 3x3/2 p1 - 4 stages x 2 BasicBlocks (64, 128,
    256, 512; stages 2-4 start with stride 2 and a 1x1/2 conv + BN downsample) - GAP -
    Flatten - fc 512->1000 with bias. 1,814,073,344 MACs, 11,689,512 parameters.
    """
    b = _Builder("resnet18", (1, 3, 224, 224), seed)
    x = b.relu("relu", b.bn("bn1", b.conv("conv1", "input", 64, 7, 2, 3)))
    x = b.maxpool("maxpool", x, 3, 2, 1)
    for stage, width in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            stride = 2 if stage > 1 and block == 0 else 1
            x = b.basic_block(f"layer{stage}.{block}", x, width, stride)
    b.gap_fc(x, 1000)
    return b.graph


def resnet20(seed: int = 0) -> Graph:
    """ResNet-20 for CIFAR-10 (1x3x32x32), He et al. 2016 sec. 4.2, synthetic weights.

    conv 3x3 16 - BN - ReLU - 3 stages x 3 BasicBlocks (16, 32, 64; stride 2 at the start
    of stages 2 and 3) - GAP - fc 64->10 with bias. Downsampling blocks use 1x1 conv + BN
    projection shortcuts (option B). 40,813,184 MACs, 272,474 parameters (option A, with
    parameter-free shortcuts, would be 40,551,040 MACs and 269,722 parameters).
    """
    b = _Builder("resnet20", (1, 3, 32, 32), seed)
    x = b.relu("relu", b.bn("bn1", b.conv("conv1", "input", 16, 3, 1, 1)))
    for stage, width in enumerate((16, 32, 64), start=1):
        for block in range(3):
            stride = 2 if stage > 1 and block == 0 else 1
            x = b.basic_block(f"layer{stage}.{block}", x, width, stride)
    b.gap_fc(x, 10)
    return b.graph


# name -> graph factory taking the weight seed; the loader looks names up here.
ZOO: dict[str, Callable[[int], Graph]] = {
    "resnet18": resnet18,
    "resnet20": resnet20,
}
