"""Train, export and check the shipped ternary networks on scikit-learn's 8x8 digits.

Offline, CPU only, fully seeded. Needs torch and scikit-learn, which imcsim itself never
imports (the tests and the simulator read only the files this script writes):

    pip install torch==2.13.0 scikit-learn
    python workloads/digits/train_digits.py            # from the repository root

Writes, beside this file, for each network NAME in NETWORKS:
  NAME.yaml + NAME.npz   native imcsim graph (ternary levels packed 2 bits, scales float32)
  NAME.onnx              the same graph as ONNX opset 17 + QONNX Quant (graph_to_onnx)
and test_split.npz (held-out images as the graph input expects, labels) and manifest.yaml
(accuracies, sparsities, parameters, MACs, seed, command, training time).

Data: sklearn.datasets.load_digits (1,797 images, 8x8, pixel values 0..16), a stratified
80/20 split (train_test_split, random_state=SEED): 1,437 training, 360 held-out images.
The graph input is pixel / 16 in [0, 1], shape (N, 1, 8, 8), float32.

Training (quantization-aware, straight-through estimator, Adam, cosine learning rate):
  phase 1  ternary weights in the forward pass (latent float weights get the gradient),
           BatchNormalization in training mode, activations float except the input,
           which is quantized from the start (8-bit, scale 2**-7: lossless on k/16);
  calibrate every activation quantizer on the training set: scale = the smallest power
           of two with max(activation) <= 255 * scale;
  phase 2  BatchNormalization frozen (running statistics, affine parameters still
           trained), every weight-layer input fake-quantized to unsigned 8 bits
           (STE inside the range, zero gradient where clipped).
Ternarizers (per layer, recomputed from the latent weights at every step):
  twn   TWN (Li & Liu 2016): delta = 0.7 * mean|W| over the layer, levels sign(W) where
        |W| > delta, per-output-channel alpha = mean |W| of the kept weights;
  topk  layer-wise top-k: exactly round(s * N) weights of the layer, those of smallest |W|,
        are zero (s = 0.8 for digits_cnn_sparse), per-channel alpha as for TWN.
Export folds BatchNormalization: weight scale[o] = alpha[o] * gamma[o] / sqrt(var[o] +
eps) (a negative scale flips the channel's levels instead), bias[o] = beta[o] - mean[o] *
gamma[o] / sqrt(var[o] + eps). Every weight layer reads a QONNX Quant (signed=0,
narrow=0, bit width 8, zero point 0, power-of-two scale), so ternary x 8-bit products are
exact integers: with power-of-two activation scales the float64 reference executor and
the bit-serial DigitalHook give bit-identical outputs, which this script checks.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SEED = 0
TEST_FRACTION = 0.2
BATCH = 64
INPUT_SCALE = 2.0 ** -7  # pixel / 16 = k / 16 = (8 k) * 2**-7, 8 k <= 128: lossless
ACT_BITS = 8
COMMAND = "python workloads/digits/train_digits.py"

# name: model kind, ternarizer, its sparsity (topk), phase-1 / phase-2 epochs, learning rates
NETWORKS = {
    "digits_cnn_twn": dict(model="cnn", quant="twn", sparsity=None, epochs=(60, 30),
                           lr=(1e-2, 2e-3)),
    "digits_cnn_sparse": dict(model="cnn", quant="topk", sparsity=0.8, epochs=(60, 30),
                              lr=(1e-2, 2e-3)),
    "digits_resnet20": dict(model="resnet20", quant="twn", sparsity=None, epochs=(60, 30),
                            lr=(1e-2, 2e-3)),
}


# ---------------------------------------------------------------- ternarizers


def ternarize(w: torch.Tensor, quant: str, sparsity: float | None
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Levels in {-1, 0, 1} (w's shape) and per-output-channel alpha (w.shape[0],)."""
    a = w.detach().abs()
    if quant == "twn":
        keep = a > 0.7 * a.mean()
    elif quant == "topk":
        k = int(round(sparsity * a.numel()))  # number of zeros
        order = torch.argsort(a.reshape(-1), stable=True)
        keep = torch.ones(a.numel(), dtype=torch.bool)
        keep[order[:k]] = False
        keep = keep.reshape(a.shape)
    else:
        raise ValueError(quant)
    levels = torch.sign(w.detach()) * keep
    kept = keep.reshape(a.shape[0], -1)
    total = (a.reshape(a.shape[0], -1) * kept).sum(1)
    count = kept.sum(1)
    alpha = torch.where(count > 0, total / count.clamp(min=1), torch.ones_like(total))
    return levels, alpha


class Ternary(nn.Module):
    """A weight layer with ternary forward weights (STE to the latent float weights)."""

    def __init__(self, shape: tuple[int, ...], quant: str, sparsity: float | None):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(shape))
        nn.init.kaiming_normal_(self.weight, nonlinearity="relu")
        self.quant, self.sparsity = quant, sparsity

    def levels_alpha(self) -> tuple[torch.Tensor, torch.Tensor]:
        return ternarize(self.weight, self.quant, self.sparsity)

    def qweight(self) -> torch.Tensor:
        levels, alpha = self.levels_alpha()
        wq = levels * alpha.reshape(-1, *([1] * (levels.dim() - 1)))
        return self.weight + (wq - self.weight).detach()


class TConv(Ternary):
    def __init__(self, cin, cout, k, stride, pad, quant, sparsity):
        super().__init__((cout, cin, k, k), quant, sparsity)
        self.k, self.stride, self.pad = k, stride, pad

    def forward(self, x):
        return F.conv2d(x, self.qweight(), None, self.stride, self.pad)


class TLinear(Ternary):
    def __init__(self, cin, cout, quant, sparsity):
        super().__init__((cout, cin), quant, sparsity)
        self.bias = nn.Parameter(torch.zeros(cout))

    def forward(self, x):
        return F.linear(x, self.qweight(), self.bias)


class ActQuant(nn.Module):
    """Unsigned 8-bit fake quantizer with a fixed (power-of-two) scale.

    Off (identity) until `scale` is set; `calibrating` records the largest input.
    """

    def __init__(self, scale: float | None = None):
        super().__init__()
        self.scale = scale
        self.calibrating = False
        self.seen = 0.0

    def forward(self, x):
        if self.calibrating:
            self.seen = max(self.seen, float(x.detach().max()))
        if self.scale is None:
            return x
        hi = (2 ** ACT_BITS - 1) * self.scale
        xc = x.clamp(0.0, hi)
        q = torch.round(xc / self.scale) * self.scale  # round half to even, as QONNX
        return xc + (q - xc).detach()

    def calibrate(self) -> None:
        top = max(self.seen, 1e-8)
        self.scale = 2.0 ** math.ceil(math.log2(top / (2 ** ACT_BITS - 1)))


# ---------------------------------------------------------------- models


class CNN(nn.Module):
    """conv 1->16 3x3 p1, BN, ReLU; conv 16->32 3x3 s2 p1, BN, ReLU; flatten; fc 512->10."""

    def __init__(self, quant, sparsity):
        super().__init__()
        self.q1 = ActQuant(INPUT_SCALE)
        self.conv1 = TConv(1, 16, 3, 1, 1, quant, sparsity)
        self.bn1 = nn.BatchNorm2d(16)
        self.q2 = ActQuant()
        self.conv2 = TConv(16, 32, 3, 2, 1, quant, sparsity)
        self.bn2 = nn.BatchNorm2d(32)
        self.q3 = ActQuant()
        self.fc = TLinear(32 * 4 * 4, 10, quant, sparsity)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(self.q1(x))))
        x = F.relu(self.bn2(self.conv2(self.q2(x))))
        return self.fc(self.q3(torch.flatten(x, 1)))


class Block(nn.Module):
    """BasicBlock; its input quantizer feeds conv1, the projection and the identity path."""

    def __init__(self, cin, cout, stride, quant, sparsity):
        super().__init__()
        self.qin = ActQuant()
        self.conv1 = TConv(cin, cout, 3, stride, 1, quant, sparsity)
        self.bn1 = nn.BatchNorm2d(cout)
        self.q2 = ActQuant()
        self.conv2 = TConv(cout, cout, 3, 1, 1, quant, sparsity)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = TConv(cin, cout, 1, stride, 0, quant, sparsity)
            self.down_bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        xq = self.qin(x)
        h = F.relu(self.bn1(self.conv1(xq)))
        h = self.bn2(self.conv2(self.q2(h)))
        sc = xq if self.down is None else self.down_bn(self.down(xq))
        return F.relu(h + sc)


class ResNet20(nn.Module):
    """ResNet-20 shape for 8x8 inputs: stem conv 1->8, 3 stages x 3 BasicBlocks at 8/16/32
    channels (8x8, 4x4, 2x2), 1x1 projection shortcuts at stage changes, GAP, fc 32->10."""

    WIDTHS = (8, 16, 32)

    def __init__(self, quant, sparsity):
        super().__init__()
        self.q1 = ActQuant(INPUT_SCALE)
        self.conv1 = TConv(1, self.WIDTHS[0], 3, 1, 1, quant, sparsity)
        self.bn1 = nn.BatchNorm2d(self.WIDTHS[0])
        blocks, cin = [], self.WIDTHS[0]
        for stage, cout in enumerate(self.WIDTHS):
            for b in range(3):
                blocks.append(Block(cin, cout, 2 if stage > 0 and b == 0 else 1, quant,
                                    sparsity))
                cin = cout
        self.blocks = nn.ModuleList(blocks)
        self.qfc = ActQuant()
        self.fc = TLinear(cin, 10, quant, sparsity)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(self.q1(x))))
        for blk in self.blocks:
            x = blk(x)
        return self.fc(self.qfc(x.mean(dim=(2, 3))))


def block_name(i: int) -> str:
    return f"layer{i // 3 + 1}.{i % 3}"


# ---------------------------------------------------------------- data and training


def load_split(seed: int):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None]  # (N, 1, 8, 8) in [0, 1]
    y = d.target.astype(np.int64)
    return train_test_split(x, y, test_size=TEST_FRACTION, stratify=y, random_state=seed)


def run_epochs(model, x, y, epochs: int, lr: float, gen: torch.Generator,
               freeze_bn: bool) -> None:
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * math.ceil(len(x) / BATCH)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(epochs):
        model.train()
        if freeze_bn:
            for m in model.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.eval()
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), BATCH):
            idx = perm[i:i + BATCH]
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()


@torch.no_grad()
def torch_accuracy(model, x, y) -> float:
    model.eval()
    pred = model(torch.from_numpy(x)).argmax(1).numpy()
    return float(np.mean(pred == y)), pred


@torch.no_grad()
def calibrate(model, x) -> None:
    model.eval()
    quants = [m for m in model.modules() if isinstance(m, ActQuant) and m.scale is None]
    for m in quants:
        m.calibrating = True
    model(torch.from_numpy(x))
    for m in quants:
        m.calibrating = False
        m.calibrate()


def train(name: str, cfg: dict, x, y, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    cls = CNN if cfg["model"] == "cnn" else ResNet20
    model = cls(cfg["quant"], cfg["sparsity"])
    run_epochs(model, x, y, cfg["epochs"][0], cfg["lr"][0], gen, freeze_bn=False)
    calibrate(model, x)
    run_epochs(model, x, y, cfg["epochs"][1], cfg["lr"][1], gen, freeze_bn=True)
    model.eval()
    return model


# ---------------------------------------------------------------- export to an imcsim Graph


class GraphBuilder:
    def __init__(self, name: str):
        from imcsim.workload.graph import Graph, Tensor

        self._tensor = Tensor
        self.graph = Graph(name, [Tensor("input", (1, 1, 8, 8), "float32")], ["logits"], [])

    def init(self, name: str, data: np.ndarray, scale=None, bits=None) -> str:
        self.graph.initializers[name] = self._tensor(name, tuple(data.shape), str(data.dtype),
                                                     data, scale, bits)
        return name

    def node(self, name: str, op: str, inputs: list[str], output: str | None = None,
             **attrs) -> str:
        from imcsim.workload.graph import Node

        out = output or name
        self.graph.nodes.append(Node(name, op, inputs, [out], attrs))
        return out

    def quant(self, name: str, x: str, scale: float) -> str:
        """QONNX Quant: unsigned 8-bit, zero point 0, power-of-two scale."""
        assert scale == 2.0 ** round(math.log2(scale)), scale
        ins = [x, self.init(f"{name}.scale", np.array(scale, np.float32)),
               self.init(f"{name}.zero_point", np.array(0.0, np.float32)),
               self.init(f"{name}.bit_width", np.array(float(ACT_BITS), np.float32))]
        return self.node(name, "Quant", ins, signed=0, narrow=0, rounding_mode="ROUND")

    def ternary(self, name: str, x: str, layer: Ternary, bn: nn.BatchNorm2d | None) -> str:
        """A Conv or Gemm with ternary levels, a float32 per-channel scale (BN folded)
        and a float32 bias."""
        levels, alpha = (t.numpy().astype(np.float64) for t in layer.levels_alpha())
        if bn is not None:
            m = bn.weight.detach().double().numpy() / np.sqrt(
                bn.running_var.double().numpy() + bn.eps)
            scale = alpha * m
            bias = bn.bias.detach().double().numpy() - bn.running_mean.double().numpy() * m
        else:
            scale, bias = alpha, layer.bias.detach().double().numpy()
        sign = np.where(scale < 0, -1.0, 1.0)
        levels = (levels * sign.reshape(-1, *([1] * (levels.ndim - 1)))).astype(np.int8)
        scale = np.abs(scale).astype(np.float32)
        w = self.init(f"{name}.weight", levels,
                      scale.reshape(-1, *([1] * (levels.ndim - 1))), 2)
        b = self.init(f"{name}.bias", bias.astype(np.float32))
        if isinstance(layer, TConv):
            p = layer.pad
            return self.node(name, "Conv", [x, w, b], kernel_shape=[layer.k, layer.k],
                             pads=[p, p, p, p], strides=[layer.stride, layer.stride])
        return self.node(name, "Gemm", [x, w, b], transB=1)


def export_cnn(name: str, model: CNN):
    g = GraphBuilder(name)
    x = g.quant("conv1.quant", "input", model.q1.scale)
    x = g.ternary("conv1", x, model.conv1, model.bn1)
    x = g.node("relu1", "Relu", [x])
    x = g.quant("conv2.quant", x, model.q2.scale)
    x = g.ternary("conv2", x, model.conv2, model.bn2)
    x = g.node("relu2", "Relu", [x])
    x = g.node("flatten", "Flatten", [x], axis=1)
    x = g.quant("fc.quant", x, model.q3.scale)
    g.ternary("fc", x, model.fc, None)
    g.graph.nodes[-1].outputs = ["logits"]
    return g.graph


def export_resnet(name: str, model: ResNet20):
    g = GraphBuilder(name)
    x = g.quant("conv1.quant", "input", model.q1.scale)
    x = g.ternary("conv1", x, model.conv1, model.bn1)
    x = g.node("relu1", "Relu", [x])
    for i, blk in enumerate(model.blocks):
        p = block_name(i)
        xq = g.quant(f"{p}.quant_in", x, blk.qin.scale)
        h = g.ternary(f"{p}.conv1", xq, blk.conv1, blk.bn1)
        h = g.node(f"{p}.relu1", "Relu", [h])
        h = g.quant(f"{p}.conv2.quant", h, blk.q2.scale)
        h = g.ternary(f"{p}.conv2", h, blk.conv2, blk.bn2)
        sc = xq if blk.down is None else g.ternary(f"{p}.downsample", xq, blk.down,
                                                   blk.down_bn)
        h = g.node(f"{p}.add", "Add", [h, sc])
        x = g.node(f"{p}.relu2", "Relu", [h])
    x = g.node("gap", "GlobalAveragePool", [x])
    x = g.node("flatten", "Flatten", [x], axis=1)
    x = g.quant("fc.quant", x, model.qfc.scale)
    g.ternary("fc", x, model.fc, None)
    g.graph.nodes[-1].outputs = ["logits"]
    return g.graph


# ---------------------------------------------------------------- checks and statistics


def check_bit_serial_ready(graph, acc_bits: int) -> None:
    """Every weight layer: ternary levels, input straight from an unsigned 8-bit Quant with
    zero point 0 and a power-of-two scale, worst-case sum within the accumulator."""
    producers = {o: n for n in graph.nodes for o in n.outputs}
    for n in graph.nodes:
        if n.op not in ("Conv", "Gemm"):
            continue
        w = graph.initializers[n.inputs[1]]
        assert w.bits == 2 and set(np.unique(w.data)) <= {-1, 0, 1}, n.name
        q = producers[n.inputs[0]]
        assert q.op == "Quant" and q.attrs["signed"] == 0 and q.attrs["narrow"] == 0, n.name
        scale, zp, bw = (float(graph.initializers[q.inputs[i]].data) for i in (1, 2, 3))
        assert zp == 0.0 and bw == ACT_BITS and scale == 2.0 ** round(math.log2(scale)), n.name
        fan_in = int(np.prod(w.data.shape[1:]))
        assert (2 ** ACT_BITS - 1) * fan_in < 2 ** (acc_bits - 1), n.name


def layer_stats(graph) -> tuple[dict, float, int, int]:
    """Per-layer zero fraction (from the levels), total zero fraction, weights, zeros."""
    per, zeros, total = {}, 0, 0
    for n in graph.nodes:
        if n.op in ("Conv", "Gemm"):
            d = graph.initializers[n.inputs[1]].data
            z = int(np.count_nonzero(d == 0))
            per[n.name] = round(z / d.size, 6)
            zeros, total = zeros + z, total + d.size
    return per, round(zeros / total, 6), total, zeros


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE), help="output folder (default: beside this)")
    ap.add_argument("--only", nargs="*", default=None, help="train only these networks")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    import onnx
    import yaml

    from imcsim.arch import load_arch
    from imcsim.functional.accuracy import accuracy, predict
    from imcsim.designs.bitserial.functional import DigitalHook
    from imcsim.workload.graph import trainable_parameter_count
    from imcsim.workload.loader import load_network
    from imcsim.workload.native import read_native, write_native
    from imcsim.workload.onnx_export import graph_to_onnx

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    xtr, xte, ytr, yte = load_split(SEED)
    np.savez_compressed(out / "test_split.npz", images=xte, labels=yte)
    arch = load_arch(ROOT / "arch_configs" / "fat.yaml")
    manifest_path = out / "manifest.yaml"
    old = yaml.safe_load(manifest_path.read_text()) if manifest_path.exists() else None
    networks = dict(old["networks"]) if old and args.only else {}
    start_all = time.perf_counter()
    for name, cfg in NETWORKS.items():
        if args.only and name not in args.only:
            continue
        t0 = time.perf_counter()
        model = train(name, cfg, xtr, ytr, SEED)
        train_s = time.perf_counter() - t0
        acc_torch, p_torch = torch_accuracy(model, xte, yte)
        graph = (export_cnn if cfg["model"] == "cnn" else export_resnet)(name, model)
        check_bit_serial_ready(graph, arch.datatypes.accumulator_bits)
        path = write_native(graph, out / f"{name}.yaml")
        onnx.save(graph_to_onnx(graph), str(out / f"{name}.onnx"))
        g = read_native(path)
        exact = accuracy(g, xte, yte)
        t1 = time.perf_counter()
        p_exact = predict(g, xte)
        p_fat = predict(g, xte, DigitalHook(arch))
        fat_s = time.perf_counter() - t1
        assert np.array_equal(p_exact, p_fat), f"{name}: bit-serial predictions differ"
        net = load_network(str(path))
        per, total, weights, zeros = layer_stats(g)
        networks[name] = {
            "files": {"native": f"{name}.yaml", "weights": f"{name}.npz",
                      "onnx": f"{name}.onnx"},
            "architecture": model.__doc__.split("\n")[0] if cfg["model"] == "cnn"
            else " ".join(ResNet20.__doc__.split()),
            "ternarizer": ("TWN: delta = 0.7 * mean|W| per layer, per-channel alpha"
                           if cfg["quant"] == "twn" else
                           f"layer-wise top-k: round({cfg['sparsity']} * N) zeros per "
                           f"layer, per-channel alpha"),
            "epochs": {"phase1": cfg["epochs"][0], "phase2": cfg["epochs"][1]},
            "learning_rate": {"phase1": cfg["lr"][0], "phase2": cfg["lr"][1]},
            "accuracy": {
                "torch": round(acc_torch, 6),
                "imcsim_exact": round(exact.value, 6),
                "imcsim_exact_correct": exact.correct,
                "fat_bit_serial": round(float(np.mean(p_fat == yte)), 6),
                "samples": exact.samples,
                "torch_imcsim_disagreements": int(np.count_nonzero(p_torch != p_exact)),
            },
            "sparsity": {"total": total, "zero_weights": zeros, "weights": weights,
                         "per_layer": per},
            "parameters": trainable_parameter_count(g),
            "macs": {"total": net.total_macs,
                     "per_layer": {la.name: la.macs for la in net.layers}},
            "activation_scales": {n.name: float(g.initializers[n.inputs[1]].data)
                                  for n in g.nodes if n.op == "Quant"},
            "train_seconds": round(train_s, 1),
        }
        print(f"{name}: torch {acc_torch:.4f}  imcsim exact {exact.value:.4f} "
              f"({exact.correct}/{exact.samples})  FAT bit-serial equal ({fat_s:.1f} s)  "
              f"zeros {total:.3f}  params {networks[name]['parameters']}  "
              f"trained in {train_s:.1f} s", flush=True)
    manifest = {
        "about": "ternary networks trained on scikit-learn's 8x8 digits; written by "
                 "train_digits.py (see README.md)",
        "command": COMMAND,
        "seed": SEED,
        "data": {"source": "sklearn.datasets.load_digits (1,797 images, 8x8, 0..16)",
                 "split": f"train_test_split(test_size={TEST_FRACTION}, stratify=labels, "
                          f"random_state={SEED})",
                 "train_samples": int(len(ytr)), "test_samples": int(len(yte)),
                 "input": "pixel / 16, float32 (N, 1, 8, 8)",
                 "test_file": "test_split.npz (images, labels)"},
        "environment": {"torch": str(torch.__version__), "python": platform.python_version(),
                        "threads": 1},
        "total_seconds": round(time.perf_counter() - start_all, 1),
        "networks": networks,
    }
    manifest_path.write_text(yaml.safe_dump(manifest, sort_keys=False, width=100))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
