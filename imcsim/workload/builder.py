"""`GraphBuilder`: appends nodes and synthetic initializers to a `Graph` (used by the zoo).

Weights are deterministic He-normal draws, std = sqrt(2 / fan_in) (He et al. 2015), one
generator per weight tensor: `np.random.default_rng([seed, tensor_index])`, float32,
tensor_index counting Conv/Gemm weights in build order. BatchNormalization parameters are
the identity (scale 1, bias 0, mean 0, var 1) and biases are 0.

Drawing the weights dominates building a graph, so it is deferred: `he` records a
`HeWeight` (seed, index, shape, fan_in) and `finish` draws all of them at once on a thread
pool (`parallel`; each tensor has its own generator, so the values do not depend on the
threads) and stores plain `Tensor`s. Inside `deferred_weights()`, `finish` leaves the
`HeWeight`s in the graph, drawn when their `data` is read: `load_network` then draws
and ternarizes each tensor in the same pool task (see `lower`), its floats freed after.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

from imcsim.workload.graph import Graph, Node, Tensor
from imcsim.workload.parallel import map_ordered

DRAWN_IN_BLOCKS = 2 ** 25  # elements: above this a tensor is drawn as blocks of rows
DRAW_BLOCK = 2 ** 21  # elements per block of rows (float32 temporaries of 8 MiB)


def draw_block_rows(shape: tuple[int, ...]) -> int:
    """Rows per draw block of a tensor of `shape` (all its rows if it is not large)."""
    rest = math.prod(shape[1:])
    if math.prod(shape) <= DRAWN_IN_BLOCKS:
        return max(1, shape[0])
    return max(1, DRAW_BLOCK // max(1, rest))


def he_block(seed: int, index: int, shape: tuple[int, ...], fan_in: int, block: int
             ) -> tuple[slice, np.ndarray]:
    """Block `block` of rows of weight tensor `index` (see `he_normal`), as (rows, float32
    array of shape (rows, rest)): a large tensor's blocks each have their own generator
    `default_rng([seed, index, block])`, so they can be drawn in any order, in parallel."""
    rows = draw_block_rows(shape)
    r0 = block * rows
    count = min(rows, shape[0] - r0)
    key = [seed, index] if rows >= shape[0] else [seed, index, block]
    w = np.random.default_rng(key).standard_normal((count, math.prod(shape[1:])),
                                                   dtype=np.float32)
    w *= np.float32(math.sqrt(2.0 / fan_in))
    return slice(r0, r0 + count), w


def he_normal(seed: int, index: int, shape: tuple[int, ...], fan_in: int) -> np.ndarray:
    """Weight tensor `index` of a graph built with `seed`: float32 He-normal draws,
    std sqrt(2 / fan_in), from its own generator `default_rng([seed, index])`; above
    DRAWN_IN_BLOCKS elements, from one generator per block of rows (`he_block`)."""
    rows = draw_block_rows(shape)
    if rows >= shape[0]:
        return he_block(seed, index, shape, fan_in, 0)[1].reshape(shape)
    w = np.empty((shape[0], math.prod(shape[1:])), np.float32)
    for b in range(-(-shape[0] // rows)):
        where, block = he_block(seed, index, shape, fan_in, b)
        w[where] = block
    return w.reshape(shape)


class HeWeight(Tensor):
    """A float32 He-normal weight initializer that holds no array: each read of `data`
    draws it (`he_normal`, the same values every time) unless `data` was assigned.

    `known_shape` does not draw. Readers that need the values more than once keep the
    array they read (as `lower` does): a graph of these, lowered by `load_network`, then
    holds each tensor's floats only while that tensor is being ternarized.
    """

    def __init__(self, name: str, shape: tuple[int, ...], seed: int, index: int,
                 fan_in: int):
        self.draw_args = (int(seed), int(index), tuple(int(d) for d in shape), int(fan_in))
        self._data: np.ndarray | None = None
        super().__init__(name, self.draw_args[2], "float32")

    @property
    def data(self) -> np.ndarray:
        return he_normal(*self.draw_args) if self._data is None else self._data

    @data.setter
    def data(self, value: np.ndarray | None) -> None:
        self._data = value

    @property
    def deferred(self) -> bool:
        """True while the values are drawn on each read (no array was assigned)."""
        return self._data is None

    @property
    def blocks(self) -> int:
        """Draw blocks of rows (`builder.he_block`): one unless the tensor is large."""
        shape = self.draw_args[2]
        return -(-shape[0] // draw_block_rows(shape))

    def block(self, b: int) -> tuple[slice, np.ndarray]:
        """Draw block `b` as (row slice, float32 block of shape (rows, rest)): the same
        values as those rows of `data`, drawn alone."""
        return he_block(*self.draw_args, b)

    @property
    def known_shape(self) -> tuple[int, ...] | None:
        if self._data is not None:
            return tuple(int(d) for d in self._data.shape)
        return None if self.shape is None else tuple(int(d) for d in self.shape)


_DEFERRED: ContextVar[bool] = ContextVar("imcsim_deferred_weights", default=False)


@contextmanager
def deferred_weights() -> Iterator[None]:
    """Graphs finished inside this context keep their He weights undrawn (`HeWeight`)."""
    token = _DEFERRED.set(True)
    try:
        yield
    finally:
        _DEFERRED.reset(token)


def draw_weights(graph: Graph, threads: int | None = None) -> None:
    """Replace the undrawn `HeWeight`s of `graph` by plain `Tensor`s with their data,
    drawn on a thread pool (`parallel.map_ordered`), initializer order kept."""
    pending = [t for t in graph.initializers.values() if isinstance(t, HeWeight)]
    arrays = map_ordered(lambda t: t.data, pending,
                         [math.prod(t.shape or ()) for t in pending], threads)
    for t, w in zip(pending, arrays, strict=True):
        graph.initializers[t.name] = Tensor(t.name, w.shape, str(w.dtype), w)


class GraphBuilder:
    """Appends nodes and initializers, tracking each activation's channel count.

    Every single-output node is named after its output tensor.
    """

    def __init__(self, name: str, input_shape: tuple[int, ...], seed: int,
                 input_name: str = "input"):
        self.graph = Graph(name, [Tensor(input_name, input_shape)], [], [], {})
        self.channels = {input_name: input_shape[1]}
        self.seed = seed
        self.n_weights = 0

    def init(self, name: str, data: np.ndarray) -> str:
        """Add initializer `name` (reused if it already exists) and return its name."""
        if name not in self.graph.initializers:
            self.graph.initializers[name] = Tensor(name, data.shape, str(data.dtype), data)
        return name

    def he(self, name: str, shape: tuple[int, ...], fan_in: int) -> str:
        """A seeded He-normal float32 weight initializer (drawn by `finish`)."""
        index = self.n_weights
        self.n_weights += 1
        if name not in self.graph.initializers:
            self.graph.initializers[name] = HeWeight(name, shape, self.seed, index, fan_in)
        return name

    def finish(self) -> Graph:
        """The graph, its He weights drawn (kept undrawn inside `deferred_weights()`)."""
        if not _DEFERRED.get():
            draw_weights(self.graph)
        return self.graph

    def node(self, name: str, op: str, inputs: list[str], out_ch: int, **attrs) -> str:
        """Append a single-output node; its output tensor is called `name`."""
        self.graph.nodes.append(Node(name, op, inputs, [name], attrs))
        self.channels[name] = out_ch
        return name

    def conv(self, name: str, x: str, out_ch: int, k: int, stride: int = 1,
             pad: int = 0, group: int = 1, bias: bool = False) -> str:
        """A k x k Conv (ONNX attributes spelled out), optionally grouped / with bias."""
        in_ch = self.channels[x]
        fan_in = in_ch // group * k * k
        inputs = [x, self.he(f"{name}.weight", (out_ch, in_ch // group, k, k), fan_in)]
        if bias:
            inputs.append(self.init(f"{name}.bias", np.zeros(out_ch, np.float32)))
        return self.node(name, "Conv", inputs, out_ch, kernel_shape=[k, k],
                         strides=[stride, stride], pads=[pad] * 4, dilations=[1, 1],
                         group=group)

    def bn(self, name: str, x: str) -> str:
        """BatchNormalization with identity statistics (eps 1e-5)."""
        c = self.channels[x]
        ones, zeros = np.ones(c, np.float32), np.zeros(c, np.float32)
        params = [self.init(f"{name}.{p}", v.copy()) for p, v in
                  (("weight", ones), ("bias", zeros), ("running_mean", zeros),
                   ("running_var", ones))]
        return self.node(name, "BatchNormalization", [x, *params], c, epsilon=1e-5)

    def relu(self, name: str, x: str) -> str:
        return self.node(name, "Relu", [x], self.channels[x])

    def relu6(self, name: str, x: str) -> str:
        """ReLU6 as Clip(x, 0, 6); the bounds are shared scalar initializers."""
        lo = self.init("relu6.min", np.array(0.0, np.float32))
        hi = self.init("relu6.max", np.array(6.0, np.float32))
        return self.node(name, "Clip", [x, lo, hi], self.channels[x])

    def add(self, name: str, a: str, b: str) -> str:
        return self.node(name, "Add", [a, b], self.channels[a])

    def maxpool(self, name: str, x: str, k: int, stride: int, pad: int = 0) -> str:
        return self.node(name, "MaxPool", [x], self.channels[x], kernel_shape=[k, k],
                         strides=[stride, stride], pads=[pad] * 4, ceil_mode=0)

    def flatten(self, name: str, x: str, features: int) -> str:
        return self.node(name, "Flatten", [x], features, axis=1)

    def linear(self, name: str, x: str, n_out: int) -> str:
        """A torch Linear as Gemm(x, W[out, in], b, transB=1)."""
        n_in = self.channels[x]
        w = self.he(f"{name}.weight", (n_out, n_in), n_in)
        b = self.init(f"{name}.bias", np.zeros(n_out, np.float32))
        return self.node(name, "Gemm", [x, w, b], n_out, alpha=1.0, beta=1.0, transB=1)

    def gap_fc(self, x: str, n_out: int) -> str:
        """GlobalAveragePool -> Flatten -> fc (Gemm), torchvision style; the graph output."""
        c = self.channels[x]
        x = self.node("avgpool", "GlobalAveragePool", [x], c)
        x = self.flatten("flatten", x, c)
        y = self.linear("fc", x, n_out)
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

    def bottleneck(self, name: str, x: str, width: int, stride: int) -> str:
        """torchvision Bottleneck (ResNet v1.5: the stride on the 3x3 conv): conv1x1 (width)
        -BN-ReLU-conv3x3/stride (width)-BN-ReLU-conv1x1 (4 x width)-BN (+ shortcut) -> ReLU.

        Shortcut is identity, or 1x1/stride conv + BN when the shape changes (projection).
        """
        out_ch = 4 * width
        y = self.relu(f"{name}.relu1",
                      self.bn(f"{name}.bn1", self.conv(f"{name}.conv1", x, width, 1)))
        y = self.relu(f"{name}.relu2",
                      self.bn(f"{name}.bn2", self.conv(f"{name}.conv2", y, width, 3, stride, 1)))
        y = self.bn(f"{name}.bn3", self.conv(f"{name}.conv3", y, out_ch, 1))
        if stride != 1 or self.channels[x] != out_ch:
            x = self.bn(f"{name}.downsample.1",
                        self.conv(f"{name}.downsample.0", x, out_ch, 1, stride, 0))
        return self.relu(f"{name}.relu3", self.add(f"{name}.add", y, x))
