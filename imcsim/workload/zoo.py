"""Built-in networks as `Graph`s with SYNTHETIC weights (not trained ones).

Weights are seeded He-normal draws (see `builder`: one generator per tensor, all drawn
on a thread pool when the graph is finished, the same values whatever the threads);
BatchNormalization is the identity and biases are 0. They give realistic weight
statistics for performance/energy estimates, not accuracy. Layouts follow torchvision
(names included), so parameter totals match torchvision's models exactly; MAC totals
count one multiply-accumulate per weight per output pixel of the Conv/Gemm layers only
(see `ComputeLayer.macs`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from imcsim.workload.builder import GraphBuilder
from imcsim.workload.graph import Graph, Node, Tensor
from imcsim.workload.zoo_transformers import bert_base, gpt2, vit_b_16


def _resnet(name: str, blocks: tuple[int, ...], seed: int) -> Graph:
    """torchvision ResNet with BasicBlocks for ImageNet (1x3x224x224)."""
    b = GraphBuilder(name, (1, 3, 224, 224), seed)
    x = b.relu("relu", b.bn("bn1", b.conv("conv1", "input", 64, 7, 2, 3)))
    x = b.maxpool("maxpool", x, 3, 2, 1)
    for stage, (width, n) in enumerate(zip((64, 128, 256, 512), blocks, strict=True), 1):
        for block in range(n):
            stride = 2 if stage > 1 and block == 0 else 1
            x = b.basic_block(f"layer{stage}.{block}", x, width, stride)
    b.gap_fc(x, 1000)
    return b.finish()


def resnet18(seed: int = 0) -> Graph:
    """ResNet-18 for ImageNet (1x3x224x224), torchvision layout, synthetic weights.

    conv1 7x7/2 p3 - BN - ReLU - maxpool 3x3/2 p1 - 4 stages x 2 BasicBlocks (64, 128,
    256, 512; stages 2-4 start with stride 2 and a 1x1/2 conv + BN downsample) - GAP -
    Flatten - fc 512->1000 with bias. 1,814,073,344 MACs, 11,689,512 parameters.
    """
    return _resnet("resnet18", (2, 2, 2, 2), seed)


def resnet34(seed: int = 0) -> Graph:
    """ResNet-34 for ImageNet: as resnet18 with (3, 4, 6, 3) BasicBlocks per stage.

    37 weight layers, 3,663,761,408 MACs, 21,797,672 parameters (torchvision).
    """
    return _resnet("resnet34", (3, 4, 6, 3), seed)


def resnet50(seed: int = 0) -> Graph:
    """ResNet-50 for ImageNet (1x3x224x224), torchvision layout (v1.5), synthetic weights.

    conv1 7x7/2 - BN - ReLU - maxpool 3x3/2 - 4 stages of (3, 4, 6, 3) Bottlenecks
    (widths 64, 128, 256, 512, outputs 4x; stages 2-4 start with stride 2 on the 3x3 conv;
    the first block of each stage has a 1x1 conv + BN projection) - GAP - fc 2048->1000.
    54 weight layers, 4,089,184,256 MACs, 25,557,032 parameters (torchvision).
    """
    b = GraphBuilder("resnet50", (1, 3, 224, 224), seed)
    x = b.relu("relu", b.bn("bn1", b.conv("conv1", "input", 64, 7, 2, 3)))
    x = b.maxpool("maxpool", x, 3, 2, 1)
    for stage, (width, n) in enumerate(zip((64, 128, 256, 512), (3, 4, 6, 3), strict=True), 1):
        for block in range(n):
            stride = 2 if stage > 1 and block == 0 else 1
            x = b.bottleneck(f"layer{stage}.{block}", x, width, stride)
    b.gap_fc(x, 1000)
    return b.finish()


def resnet20(seed: int = 0) -> Graph:
    """ResNet-20 for CIFAR-10 (1x3x32x32), He et al. 2016 sec. 4.2, synthetic weights.

    conv 3x3 16 - BN - ReLU - 3 stages x 3 BasicBlocks (16, 32, 64; stride 2 at the start
    of stages 2 and 3) - GAP - fc 64->10 with bias. Downsampling blocks use 1x1 conv + BN
    projection shortcuts (option B). 40,813,184 MACs, 272,474 parameters (option A, with
    parameter-free shortcuts, would be 40,551,040 MACs and 269,722 parameters).
    """
    b = GraphBuilder("resnet20", (1, 3, 32, 32), seed)
    x = b.relu("relu", b.bn("bn1", b.conv("conv1", "input", 16, 3, 1, 1)))
    for stage, width in enumerate((16, 32, 64), start=1):
        for block in range(3):
            stride = 2 if stage > 1 and block == 0 else 1
            x = b.basic_block(f"layer{stage}.{block}", x, width, stride)
    b.gap_fc(x, 10)
    return b.finish()


def _classifier(b: GraphBuilder, x: str, features: int, widths: tuple[int, ...],
                index: tuple[int, ...]) -> None:
    """Flatten - (Linear - ReLU)* - Linear named like torchvision's `classifier.N`
    (Linear number N = index[i], its ReLU N + 1); Dropout is left out (inference)."""
    x = b.flatten("flatten", x, features)
    for i, width in enumerate(widths[:-1]):
        x = b.relu(f"classifier.{index[i] + 1}", b.linear(f"classifier.{index[i]}", x, width))
    b.graph.outputs.append(b.linear(f"classifier.{index[-1]}", x, widths[-1]))


def vgg16(seed: int = 0) -> Graph:
    """VGG-16 (configuration D) for ImageNet, torchvision `vgg16` (no BN), synthetic weights.

    13 conv 3x3 p1 with bias + ReLU in 5 groups (64x2, 128x2, 256x3, 512x3, 512x3), each
    group closed by maxpool 2x2/2; Flatten 512x7x7; fc 25088->4096->4096->1000. torchvision's
    AdaptiveAvgPool2d(7) is the identity at 224x224 and is left out.
    15,470,264,320 MACs, 138,357,544 parameters.
    """
    b = GraphBuilder("vgg16", (1, 3, 224, 224), seed)
    x, i = "input", 0
    for width, n in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
        for _ in range(n):
            x = b.relu(f"features.{i + 1}", b.conv(f"features.{i}", x, width, 3, 1, 1, bias=True))
            i += 2
        x = b.maxpool(f"features.{i}", x, 2, 2)
        i += 1
    _classifier(b, x, 512 * 7 * 7, (4096, 4096, 1000), (0, 3, 6))
    return b.finish()


def alexnet(seed: int = 0) -> Graph:
    """AlexNet, torchvision variant (one tower, 64-192-384-256-256 channels), synthetic.

    conv 11x11/4 p2 64, maxpool 3/2, conv 5x5 p2 192, maxpool 3/2, conv 3x3 p1 384, 256,
    256, maxpool 3/2 (6x6 out; AdaptiveAvgPool2d(6) is then the identity and left out),
    fc 9216->4096->4096->1000; every layer has a bias and ReLU.
    714,188,480 MACs, 61,100,840 parameters.
    """
    b = GraphBuilder("alexnet", (1, 3, 224, 224), seed)
    x = b.relu("features.1", b.conv("features.0", "input", 64, 11, 4, 2, bias=True))
    x = b.maxpool("features.2", x, 3, 2)
    x = b.relu("features.4", b.conv("features.3", x, 192, 5, 1, 2, bias=True))
    x = b.maxpool("features.5", x, 3, 2)
    for i, width in ((6, 384), (8, 256), (10, 256)):
        x = b.relu(f"features.{i + 1}", b.conv(f"features.{i}", x, width, 3, 1, 1, bias=True))
    x = b.maxpool("features.12", x, 3, 2)
    _classifier(b, x, 256 * 6 * 6, (4096, 4096, 1000), (1, 4, 6))
    return b.finish()


# MobileNetV2 inverted-residual settings (Sandler et al. 2018, table 2): t, c, n, s.
_MBV2 = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
         (6, 160, 3, 2), (6, 320, 1, 1))


def mobilenetv2(seed: int = 0) -> Graph:
    """MobileNetV2 (width 1.0, 224x224), torchvision layout and names, synthetic weights.

    conv 3x3/2 32 - BN - ReLU6, 17 inverted residual blocks (1x1 expand by t - BN - ReLU6,
    3x3 depthwise conv (group == channels) - BN - ReLU6, 1x1 project - BN, identity
    shortcut when stride 1 and channels equal), conv 1x1 1280 - BN - ReLU6, GAP, fc
    1280->1000 (torchvision's Dropout left out). Convs have no bias; ReLU6 is Clip(0, 6).
    300,774,272 MACs, 3,504,872 parameters.
    """
    b = GraphBuilder("mobilenetv2", (1, 3, 224, 224), seed)

    def cbr(name: str, x: str, out: int, k: int, stride: int, group: int = 1) -> str:
        y = b.conv(f"{name}.0", x, out, k, stride, k // 2, group=group)
        return b.relu6(f"{name}.2", b.bn(f"{name}.1", y))

    x, idx = cbr("features.0", "input", 32, 3, 2), 1
    for t, c, n, s in _MBV2:
        for i in range(n):
            name, inp, stride = f"features.{idx}.conv", b.channels[x], s if i == 0 else 1
            hidden, y, j = inp * t, x, 0
            if t != 1:
                y, j = cbr(f"{name}.0", y, hidden, 1, 1), 1
            y = cbr(f"{name}.{j}", y, hidden, 3, stride, group=hidden)
            y = b.bn(f"{name}.{j + 2}", b.conv(f"{name}.{j + 1}", y, c, 1))
            if stride == 1 and inp == c:
                y = b.add(f"features.{idx}.add", x, y)
            x, idx = y, idx + 1
    x = cbr(f"features.{idx}", x, 1280, 1, 1)
    x = b.flatten("flatten", b.node("avgpool", "GlobalAveragePool", [x], 1280), 1280)
    b.graph.outputs.append(b.linear("classifier.1", x, 1000))
    return b.finish()


LSTM_INPUT, LSTM_HIDDEN, LSTM_STEPS, LSTM_CLASSES = 128, 256, 32, 10


def lstm(seed: int = 0) -> Graph:
    """A one-layer LSTM (input 128, hidden 256) unrolled over 32 time steps, then fc 256->10
    on the last hidden state; input (1, 32, 128), plus initial states h0, c0 (1, 256).

    Per step t (gate order i, f, g, o as in PyTorch):
        x_t   = Gather(input, t, axis=1)                      (1, 128)
        gates = Gemm(Concat(x_t, h), W, b, transB=1)          W: (4*256, 128+256)
        i, f, g, o = Sigmoid, Sigmoid, Tanh, Sigmoid of Split(gates, 4)
        c = f * c + i * g;   h = o * tanh(c)
    One weight W (the stacked [W_ih | W_hh]) is shared by the 32 Gemm layers.

    MACs count the Gemms only: 32 steps x 1024 x 384 = 12,582,912, plus the fc 2,560 =
    12,585,472. The 3 x 256 gate multiplications and the activations per step run in the
    periphery and are not MACs. Parameters count W once: 1024 x 384 + 1024 (one bias;
    PyTorch's nn.LSTM has two, b_ih and b_hh, 1,024 more) + 2,570 (fc) = 396,810.
    """
    h_dim, steps = LSTM_HIDDEN, LSTM_STEPS
    b = GraphBuilder("lstm", (1, steps, LSTM_INPUT), seed)
    b.graph.inputs += [Tensor("h0", (1, h_dim)), Tensor("c0", (1, h_dim))]
    b.channels.update(h0=h_dim, c0=h_dim)
    fan_in = LSTM_INPUT + h_dim
    w = b.he("lstm.weight", (4 * h_dim, fan_in), fan_in)
    bias = b.init("lstm.bias", np.zeros(4 * h_dim, np.float32))
    sizes = b.init("lstm.split", np.full(4, h_dim, np.int64))
    h, c = "h0", "c0"
    for t in range(steps):
        p = f"step{t}"
        idx = b.init(f"{p}.index", np.array(t, np.int64))
        x_t = b.node(f"{p}.x", "Gather", ["input", idx], LSTM_INPUT, axis=1)
        xh = b.node(f"{p}.xh", "Concat", [x_t, h], fan_in, axis=1)
        gates = b.node(f"{p}.gates", "Gemm", [xh, w, bias], 4 * h_dim, alpha=1.0, beta=1.0,
                       transB=1)
        pre = [f"{p}.{g}_pre" for g in "ifgo"]
        b.graph.nodes.append(Node(f"{p}.split", "Split",
                                                         [gates, sizes], pre, {"axis": 1}))
        i, f, g, o = (b.node(f"{p}.{n}", op, [x], h_dim) for n, op, x in
                      zip("ifgo", ("Sigmoid", "Sigmoid", "Tanh", "Sigmoid"), pre, strict=True))
        c = b.node(f"{p}.c", "Add", [b.node(f"{p}.fc", "Mul", [f, c], h_dim),
                                     b.node(f"{p}.ig", "Mul", [i, g], h_dim)], h_dim)
        h = b.node(f"{p}.h", "Mul", [o, b.node(f"{p}.tanh_c", "Tanh", [c], h_dim)], h_dim)
    b.graph.outputs.append(b.linear("fc", h, LSTM_CLASSES))
    return b.finish()


# name -> graph factory taking the weight seed; the loader looks names up here.
ZOO: dict[str, Callable[[int], Graph]] = {
    "alexnet": alexnet,
    "bert_base": bert_base,
    "gpt2": gpt2,
    "lstm": lstm,
    "mobilenetv2": mobilenetv2,
    "resnet18": resnet18,
    "resnet20": resnet20,
    "resnet34": resnet34,
    "resnet50": resnet50,
    "vgg16": vgg16,
    "vit_b_16": vit_b_16,
}

# Networks over a token sequence: `seq` sets its length (their default: 128 tokens).
SEQUENCE_NETWORKS: dict[str, Callable[[int, int], Graph]] = {
    "bert_base": bert_base,
    "gpt2": gpt2,
}
MAX_SEQ = {"bert_base": 512, "gpt2": 1024}  # their position embeddings' rows
# Decoders: one decode step over a KV cache of N tokens (seed, tokens, N)
DECODERS: dict[str, Callable[[int, int, int], Graph]] = {"gpt2": gpt2}
