"""Train, export and check the networks behind the two analog accuracy claims, on
scikit-learn's 8x8 digits.

Offline, CPU only, fully seeded. Needs torch and scikit-learn, which imcsim itself never
imports (the tests and the simulator read only the files this script writes):

    pip install torch==2.13.0 scikit-learn
    PYTHONPATH=. python workloads/digits_analog/train_analog.py    # from the repository root

1. NVM LSTM (Ma et al., "Non-Volatile Memory Array Based Quantization- and Noise-Resilient
   LSTM Neural Networks", ICRC 2019, arXiv 2002.10636: 4-bit NVM weights with 4-bit ADC/DAC
   match the floating-point LSTM). The digits are read row by row: 8 time steps of 8
   features (2 * pixel / 16 - 1, in [-1, 1]); an LSTM of H hidden units (one weight
   matrix [x_t, h_(t-1)] -> gates i, f, g, o, so each step is one crossbar read) and a
   linear classifier on h_8.
     digits_lstm_float   trained in float32: the floating-point baseline;
     digits_lstm_q{b}    b = 4, 3, 2: fine-tuned from the float weights with quantization-
                         aware training (QAT) of the crossbar that runs them: weights of b
                         bits (signed, narrow: +-(2^(b-1) - 1) levels per output channel,
                         i.e. b - 1 magnitude bits and the sign of a differential pair), the
                         rows through a b-bit DAC (a QONNX Quant, signed narrow, scale
                         1 / (2^(b-1) - 1)), each step's gate products through a b-bit ADC.
2. Noisy inference (Qin and Vucinic, "Noisy Computations during Inference: Harmful or
   Helpful?", arXiv 1811.10649: noise-injected training plus voting over repeated noisy
   inferences lift MNIST accuracy from 21.1 % to 99.5 % at 0 dB signal-to-noise power
   ratio). A small CNN (conv 1->16 3x3 p1, ReLU, conv 16->32 3x3 s2 p1, ReLU, flatten,
   fc 512->10, with biases, no BatchNormalization) for the PCM crossbar design (4-bit
   weights, 8-bit inputs, 8-bit ADC):
     digits_cnn_plain    trained without noise;
     digits_cnn_noisy    the same schedule with Gaussian noise injected on every weight
                         layer's product at 0 dB SNR (noise power = the product's mean
                         square per input, as `imcsim run --accuracy --snr-db 0` injects it).

The QAT forward pass is the computation of imcsim's crossbar hook
(imcsim/functional/noisy.py, CrossbarHook), in torch with straight-through estimators:
each output channel's weights scaled by their largest magnitude m_o and rounded to the
design's levels, the rows as the DAC applies them, column currents i = x @ u^T, noise
(when injected) added to i as sigma / m_o, a uniform ADC of the design's bits over
[-M, M] with M = max |exact i| over the batch, y = ADC(i) * m_o + bias. Devices are
ideal here; imcsim adds their noise.

Data: sklearn.datasets.load_digits, the stratified 80/20 split of workloads/digits
(train_test_split(test_size=0.2, stratify=labels, random_state=0)): 1,437 training and
360 held-out images; the graph input is pixel / 16, float32, (N, 1, 8, 8), so the
held-out file is the same as workloads/digits/test_split.npz (this script checks it).

Writes, beside this file: NAME.yaml + NAME.npz (native imcsim graphs), test_split.npz,
manifest.yaml (accuracies in torch and in imcsim, sizes, seed, command, timings).
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
HIDDEN = 64
STEPS = 8
FEATURES = 8
ACT_BITS = 8  # the CNN's activations (pcm.yaml: input_bits 8)
CNN_WEIGHT_BITS = 4  # signed: pcm.yaml's weight_bits 3 magnitude bits and the pair's sign
CNN_ADC_BITS = 8  # pcm.yaml: circuits/adc.yaml#sar
SNR_DB = 0.0
INPUT_SCALE = 2.0 ** -7  # the CNN input, pixel / 16 = (8 k) 2^-7: lossless 8-bit codes
COMMAND = "PYTHONPATH=. python workloads/digits_analog/train_analog.py"
LSTM_BITS = (4, 3, 2)
EPOCHS = {"lstm_float": 80, "lstm_qat": 80, "cnn": (60, 80)}
LR = {"lstm_float": 1e-2, "lstm_qat": 5e-3, "cnn": (1e-2, 2e-3)}
VOTES = 31  # the majority vote the manifest records (imcsim run --votes 31)
SPREAD_SEEDS = (1, 2)  # extra training seeds of digits_lstm_q4, recorded (not shipped)
DEVICE_SEEDS = 5  # imcsim seeds (programming-noise and injected-noise draws) averaged


# ---------------------------------------------------------------- the crossbar, in torch


def ste(x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """q forward, identity gradient."""
    return x + (q - x).detach()


def adc(v: torch.Tensor, bits: int | None, full: torch.Tensor) -> torch.Tensor:
    """imcsim.functional.noisy.quantize_uniform over [-full, full] (clipped)."""
    if bits is None:
        return v
    steps = 2 ** bits - 1
    vc = torch.maximum(torch.minimum(v, full), -full)
    q = torch.round((vc + full) / (2 * full) * steps) * (2 * full) / steps - full
    return ste(vc, q)


def dac_scale(bits: int) -> float:
    """The DAC Quant's scale, 1 / (2^(bits-1) - 1), as the graph stores it (float32)."""
    return float(np.float32(1.0 / (2 ** (bits - 1) - 1)))


def signed_codes(x: torch.Tensor, bits: int) -> torch.Tensor:
    """QONNX Quant signed narrow at `dac_scale` (the graph's arithmetic: round(x / scale),
    ties to even, clipped to +-(2^(bits-1) - 1))."""
    top = 2 ** (bits - 1) - 1
    scale = dac_scale(bits)
    q = torch.round(x.double() / scale).clamp(-top, top) * scale
    return ste(x, q.to(x.dtype))


def snr_noise(exact: torch.Tensor, snr_db: float, gen: torch.Generator) -> torch.Tensor:
    """Gaussian noise with, per input (axis 0), power = mean square of `exact` over that
    input's outputs x 10^(-snr_db / 10) (imcsim.functional.noisy.snr_noise). The noise is
    eps * sigma(exact) with sigma not detached: the gradient of the expected loss under
    the noise model (reparametrization), so training sees that a layer's noise grows with
    its whole output, not only with the outputs that carry the answer."""
    dims = tuple(range(1, exact.dim()))
    power = exact.pow(2).mean(dim=dims, keepdim=True)
    sigma = torch.sqrt(power * 10.0 ** (-snr_db / 10.0))
    return torch.randn(exact.shape, generator=gen) * sigma


class Programming:
    """PCM programming noise of a differential pair (imcsim.tech.pcm, circuits/pcm.yaml):
    each side G = max(G_t + sigma(G_t / g_max) N(0, 1), 0), sigma(g) = max(c0 + c1 g +
    c2 g^2, 0) uS; a fresh draw per forward pass (the noise the trained weights must
    tolerate), straight-through."""

    def __init__(self, gen: torch.Generator):
        from imcsim.circuits.analog_params import load_pcm

        p = load_pcm()
        self.c = (p.programming.c0, p.programming.c1, p.programming.c2)
        self.g_max, self.gen = p.g_max_us, gen

    def __call__(self, u: torch.Tensor) -> torch.Tensor:
        c0, c1, c2 = self.c
        sides = []
        for g in (u.detach().clamp(min=0), (-u.detach()).clamp(min=0)):  # normalised targets
            sigma = (c0 + c1 * g + c2 * g * g).clamp(min=0) / self.g_max
            sides.append((g + sigma * torch.randn(g.shape, generator=self.gen)).clamp(min=0))
        return u + (sides[0] - sides[1] - u.detach())


class Crossbar(nn.Module):
    """A weight layer as the crossbar computes it (module docstring). `bits` None: float."""

    def __init__(self, shape: tuple[int, ...], bits: int | None, adc_bits: int | None,
                 bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(shape))
        self.bias = nn.Parameter(torch.zeros(shape[0])) if bias else None
        self.bits, self.adc_bits = bits, adc_bits
        self.snr_db: float | None = None
        self.gen: torch.Generator | None = None
        self.programming: Programming | None = None  # device noise in training

    def levels_scale(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Integer levels (weight's shape) and per-output-channel step (out,)."""
        assert self.bits is not None
        top = 2 ** (self.bits - 1) - 1
        w = self.weight.detach()
        m = w.reshape(w.shape[0], -1).abs().amax(1).clamp(min=1e-12)
        step = m / top
        levels = torch.round(w / step.reshape(-1, *([1] * (w.dim() - 1)))).clamp(-top, top)
        return levels, step

    def product(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight
        if self.bits is None:
            y = self.product(x, w)
        else:
            shape = (-1, *([1] * (w.dim() - 1)))
            levels, step = self.levels_scale()
            wq = ste(w, levels * step.reshape(shape))
            m = (step * (2 ** (self.bits - 1) - 1)).reshape(shape)
            u = wq / m
            current = self.product(x, u if self.programming is None or not self.training
                                   else self.programming(u))
            out_shape = (1, -1) + (1,) * (current.dim() - 2)
            m_out = m.reshape(out_shape)
            if self.snr_db is not None:
                current = current + snr_noise(current * m_out, self.snr_db, self.gen) / m_out
            exact = self.product(x.detach(), u.detach())
            y = adc(current, self.adc_bits, exact.abs().max()) * m_out
        if self.bias is not None:
            y = y + self.bias.reshape((1, -1) + (1,) * (y.dim() - 2))
        return y


class Linear(Crossbar):
    def __init__(self, fin: int, fout: int, bits: int | None, adc_bits: int | None):
        super().__init__((fout, fin), bits, adc_bits)
        bound = 1.0 / math.sqrt(fin)
        nn.init.uniform_(self.weight, -bound, bound)

    def product(self, x, w):
        return x @ w.t()


class Conv(Crossbar):
    def __init__(self, cin: int, cout: int, stride: int, bits: int | None,
                 adc_bits: int | None):
        super().__init__((cout, cin, 3, 3), bits, adc_bits)
        nn.init.kaiming_normal_(self.weight, nonlinearity="relu")
        self.stride = stride

    def product(self, x, w):
        return F.conv2d(x, w, None, self.stride, 1)


class ActQuant(nn.Module):
    """Unsigned 8-bit fake quantizer (QONNX Quant, zero point 0); off until `scale` is set;
    `calibrating` records the largest input."""

    def __init__(self, scale: float | None = None):
        super().__init__()
        self.scale, self.calibrating, self.seen = scale, False, 0.0

    def forward(self, x):
        if self.calibrating:
            self.seen = max(self.seen, float(x.detach().max()))
        if self.scale is None:
            return x
        xc = x.clamp(0.0, (2 ** ACT_BITS - 1) * self.scale)
        q = torch.round(xc.double() / self.scale) * self.scale  # the graph's arithmetic
        return ste(xc, q.to(x.dtype))

    def calibrate(self) -> None:
        """scale = max / 255, rounded to the float32 the graph stores."""
        self.scale = float(np.float32(max(self.seen, 1e-8) / (2 ** ACT_BITS - 1)))


# ---------------------------------------------------------------- models


class LSTM(nn.Module):
    """LSTM, H hidden units, rows of the image as 8 steps; linear classifier on h_8."""

    def __init__(self, bits: int | None, hidden: int = HIDDEN):
        super().__init__()
        self.bits, self.hidden = bits, hidden
        self.cell = Linear(FEATURES + hidden, 4 * hidden, bits, bits)
        self.fc = Linear(hidden, 10, bits, bits)
        with torch.no_grad():
            self.cell.bias[hidden:2 * hidden].fill_(1.0)  # forget gate open at the start

    def dac(self, z: torch.Tensor) -> torch.Tensor:
        return z if self.bits is None else signed_codes(z, self.bits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xs = 2.0 * x[:, 0] - 1.0  # (N, 8 steps, 8 features)
        n, hd = x.shape[0], self.hidden
        h = torch.zeros(n, hd)
        c = torch.zeros(n, hd)
        for t in range(STEPS):
            gates = self.cell(self.dac(torch.cat([xs[:, t], h], dim=1)))
            i, f, g, o = gates.split(hd, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
        return self.fc(self.dac(h))


class CNN(nn.Module):
    """conv 1->16 3x3 p1, ReLU; conv 16->32 3x3 s2 p1, ReLU; flatten; fc 512->10."""

    def __init__(self):
        super().__init__()
        b, a = CNN_WEIGHT_BITS, CNN_ADC_BITS
        self.q1, self.conv1 = ActQuant(INPUT_SCALE), Conv(1, 16, 1, b, a)
        self.q2, self.conv2 = ActQuant(), Conv(16, 32, 2, b, a)
        self.q3, self.fc = ActQuant(), Linear(512, 10, b, a)

    def forward(self, x):
        x = F.relu(self.conv1(self.q1(x)))
        x = F.relu(self.conv2(self.q2(x)))
        return self.fc(self.q3(torch.flatten(x, 1)))

    def set_noise(self, snr_db: float | None, gen: torch.Generator | None) -> None:
        for layer in (self.conv1, self.conv2, self.fc):
            layer.snr_db, layer.gen = snr_db, gen


# ---------------------------------------------------------------- data and training


def load_split(seed: int):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None]  # (N, 1, 8, 8) in [0, 1]
    y = d.target.astype(np.int64)
    return train_test_split(x, y, test_size=TEST_FRACTION, stratify=y, random_state=seed)


def run_epochs(model, x, y, epochs: int, lr: float, gen: torch.Generator) -> None:
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * math.ceil(len(x) / BATCH))
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), BATCH):
            idx = perm[i:i + BATCH]
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()


@torch.no_grad()
def torch_predict(model, x) -> np.ndarray:
    model.eval()
    return model(torch.from_numpy(x)).argmax(1).numpy()


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


def train_lstm_float(x, y, seed: int) -> LSTM:
    torch.manual_seed(seed)
    model = LSTM(None)
    run_epochs(model, x, y, EPOCHS["lstm_float"], LR["lstm_float"],
               torch.Generator().manual_seed(seed))
    return model.eval()


def train_lstm_qat(float_model: LSTM, bits: int, x, y, seed: int) -> LSTM:
    """From the float weights, with the crossbar's quantizers and PCM programming noise."""
    torch.manual_seed(seed)
    model = LSTM(bits)
    model.load_state_dict(float_model.state_dict())
    programming = Programming(torch.Generator().manual_seed(seed + 100))
    model.cell.programming = model.fc.programming = programming
    run_epochs(model, x, y, EPOCHS["lstm_qat"], LR["lstm_qat"],
               torch.Generator().manual_seed(seed + bits))
    return model.eval()


def train_cnns(x, y, seed: int) -> dict[str, CNN]:
    """Phase 1 (shared): 4-bit weights, 8-bit input, other activations float; calibrate
    the activation quantizers; phase 2 from the same weights, without and with noise."""
    torch.manual_seed(seed)
    base = CNN()
    gen = torch.Generator().manual_seed(seed)
    run_epochs(base, x, y, EPOCHS["cnn"][0], LR["cnn"][0], gen)
    calibrate(base, x)
    out = {}
    for name, snr in (("digits_cnn_plain", None), ("digits_cnn_noisy", SNR_DB)):
        model = CNN()
        model.load_state_dict(base.state_dict())
        for mine, theirs in zip(model.modules(), base.modules(), strict=True):
            if isinstance(mine, ActQuant):
                mine.scale = theirs.scale
        model.set_noise(snr, torch.Generator().manual_seed(seed + 1))
        run_epochs(model, x, y, EPOCHS["cnn"][1], LR["cnn"][1],
                   torch.Generator().manual_seed(seed + 2))
        model.set_noise(None, None)
        out[name] = model.eval()
    return out


# ---------------------------------------------------------------- export to an imcsim Graph


class GraphBuilder:
    def __init__(self, name: str):
        from imcsim.workload.graph import Graph, Tensor

        self._tensor = Tensor
        self.graph = Graph(name, [Tensor("input", (1, 1, 8, 8), "float32")], ["logits"], [])

    def init(self, name: str, data: np.ndarray, scale=None, bits=None) -> str:
        if name not in self.graph.initializers:
            self.graph.initializers[name] = self._tensor(name, tuple(data.shape),
                                                         str(data.dtype), data, scale, bits)
        return name

    def node(self, name: str, op: str, inputs: list[str], outputs: list[str] | None = None,
             **attrs) -> str:
        from imcsim.workload.graph import Node

        outs = outputs or [name]
        self.graph.nodes.append(Node(name, op, inputs, outs, attrs))
        return outs[0]

    def ints(self, name: str, values: list[int]) -> str:
        return self.init(name, np.array(values, np.int64))

    def quant(self, name: str, x: str, scale: float, bits: int, signed: bool) -> str:
        """QONNX Quant, zero point 0 (signed: narrow, levels +-(2^(bits-1) - 1))."""
        ins = [x, self.init(f"{name}.scale", np.array(scale, np.float32)),
               self.init(f"{name}.zero_point", np.array(0.0, np.float32)),
               self.init(f"{name}.bit_width", np.array(float(bits), np.float32))]
        return self.node(name, "Quant", ins, signed=int(signed), narrow=int(signed),
                         rounding_mode="ROUND")

    def weight(self, name: str, layer: Crossbar, transpose: bool) -> str:
        """The layer's weight: int8 levels with a float32 per-output-channel scale, or
        float32 (float layers); (in, out) for a MatMul (transpose)."""
        if layer.bits is None:
            w = layer.weight.detach().numpy().astype(np.float32)
            return self.init(name, np.ascontiguousarray(w.T if transpose else w))
        levels, step = (t.numpy() for t in layer.levels_scale())
        levels = levels.astype(np.int8)
        step = step.astype(np.float32)
        if transpose:
            return self.init(name, np.ascontiguousarray(levels.T), step.reshape(1, -1),
                             layer.bits)
        return self.init(name, levels, step.reshape(-1, *([1] * (levels.ndim - 1))),
                         layer.bits)


def export_lstm(name: str, model: LSTM):
    """One crossbar read per step: MatMul([x_t, h_(t-1)], W) + b -> Split -> gates."""
    g = GraphBuilder(name)
    hd, bits = model.hidden, model.bits
    xs = g.node("scale_input", "Mul", ["input", g.init("two", np.array(2.0, np.float32))])
    xs = g.node("center_input", "Sub", [xs, g.init("one", np.array(1.0, np.float32))])
    w = g.weight("cell.weight", model.cell, transpose=True)
    b = g.init("cell.bias", model.cell.bias.detach().numpy().astype(np.float32))
    split = g.ints("gate_sizes", [hd] * 4)
    h = c = ""
    for t in range(STEPS):
        p = f"step{t}"
        row = g.node(f"{p}.row", "Slice", [xs, g.ints(f"{p}.start", [t]),
                                             g.ints(f"{p}.end", [t + 1]), g.ints("axis2", [2])])
        row = g.node(f"{p}.x", "Reshape", [row, g.ints("row_shape", [-1, FEATURES])])
        z = (g.node(f"{p}.z", "Pad", [row, g.ints("pad_h0", [0, 0, 0, hd])]) if t == 0
             else g.node(f"{p}.z", "Concat", [row, h], axis=1))
        if bits is not None:
            z = g.quant(f"{p}.dac", z, dac_scale(bits), bits, True)
        y = g.node(f"{p}.matmul", "MatMul", [z, w])
        y = g.node(f"{p}.gates", "Add", [y, b])
        names = [f"{p}.{k}" for k in ("i", "f", "g", "o")]
        g.node(f"{p}.split", "Split", [y, split], names, axis=1)
        i = g.node(f"{p}.sig_i", "Sigmoid", [names[0]])
        f = g.node(f"{p}.sig_f", "Sigmoid", [names[1]])
        gg = g.node(f"{p}.tanh_g", "Tanh", [names[2]])
        o = g.node(f"{p}.sig_o", "Sigmoid", [names[3]])
        ig = g.node(f"{p}.i_g", "Mul", [i, gg])
        c = ig if t == 0 else g.node(f"{p}.c", "Add", [g.node(f"{p}.f_c", "Mul", [f, c]), ig])
        h = g.node(f"{p}.h", "Mul", [o, g.node(f"{p}.tanh_c", "Tanh", [c])])
    if bits is not None:
        h = g.quant("fc.dac", h, dac_scale(bits), bits, True)
    y = g.node("fc.matmul", "MatMul", [h, g.weight("fc.weight", model.fc, transpose=True)])
    g.node("fc", "Add", [y, g.init("fc.bias", model.fc.bias.detach().numpy().astype(
        np.float32))], ["logits"])
    return g.graph


def export_cnn(name: str, model: CNN):
    g = GraphBuilder(name)
    x = "input"
    for k, (q, layer) in enumerate(((model.q1, model.conv1), (model.q2, model.conv2)), 1):
        x = g.quant(f"conv{k}.quant", x, q.scale, ACT_BITS, False)
        w = g.weight(f"conv{k}.weight", layer, transpose=False)
        bias = g.init(f"conv{k}.bias", layer.bias.detach().numpy().astype(np.float32))
        x = g.node(f"conv{k}", "Conv", [x, w, bias], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                   strides=[layer.stride, layer.stride])
        x = g.node(f"relu{k}", "Relu", [x])
    x = g.node("flatten", "Flatten", [x], axis=1)
    x = g.quant("fc.quant", x, model.q3.scale, ACT_BITS, False)
    g.node("fc", "Gemm", [x, g.weight("fc.weight", model.fc, transpose=False),
                          g.init("fc.bias", model.fc.bias.detach().numpy().astype(
                              np.float32))], ["logits"], transB=1)
    return g.graph


# ---------------------------------------------------------------- checks in imcsim


def pcm_overrides(bits: int) -> dict:
    """pcm.yaml at b-bit weights (b - 1 magnitude bits), DAC and ADC."""
    return {"crossbar.weight_bits": bits - 1, "crossbar.bits_per_cell": bits - 1,
            "crossbar.input_bits": bits, "crossbar.dac_bits": bits,
            "crossbar.adc.bits": bits}


def pcm_arch(overrides: dict | None, ideal: bool = False):
    """pcm.yaml with `overrides`; `ideal`: programming noise off (at t = 0 the PCM model
    has no drift and no read noise either), i.e. the computation the training emulates."""
    import dataclasses

    from imcsim.arch import load_arch

    arch = load_arch(ROOT / "arch_configs" / "pcm.yaml", overrides)
    if not ideal:
        return arch
    dev = arch.crossbar.device
    quiet = dataclasses.replace(dev, programming=dataclasses.replace(
        dev.programming, c0=0.0, c1=0.0, c2=0.0))
    return dataclasses.replace(arch, crossbar=dataclasses.replace(arch.crossbar, device=quiet))


def imcsim_accuracy(path: Path, overrides: dict | None, seeds: int, **kw) -> float:
    """imcsim's accuracy on pcm.yaml (with `overrides`), the mean over `seeds` seeds."""
    from imcsim.accuracy import evaluate

    arch = pcm_arch(overrides)
    return float(np.mean([evaluate(arch, str(path), seed=s, **kw)["simulated"]
                          for s in range(seeds)]))


def ideal_predictions(graph, images: np.ndarray, overrides: dict | None) -> np.ndarray:
    """imcsim's predictions on pcm.yaml with ideal devices (the training's computation)."""
    from imcsim.accuracy import make_hook
    from imcsim.functional.accuracy import predict

    hook, _ = make_hook(pcm_arch(overrides, ideal=True), np.random.default_rng(0))
    return predict(graph, images, hook)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE), help="output folder (default: beside this)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    import yaml

    from imcsim.functional.accuracy import accuracy, predict
    from imcsim.workload.graph import trainable_parameter_count
    from imcsim.workload.loader import load_network
    from imcsim.workload.native import read_native, write_native

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    xtr, xte, ytr, yte = load_split(SEED)
    np.savez_compressed(out / "test_split.npz", images=xte, labels=yte)
    with np.load(ROOT / "workloads" / "digits" / "test_split.npz") as d:
        assert np.array_equal(d["images"], xte) and np.array_equal(d["labels"], yte)
    start_all = time.perf_counter()
    networks: dict[str, dict] = {}

    def record(name: str, model, graph, train_s: float, about: str, checks: dict,
               overrides: dict | None, on_pcm: bool = True) -> None:
        """Write the graph; record torch's accuracy (the training's forward pass:
        converters emulated, ideal devices), imcsim's on the same computation (pcm.yaml
        with `overrides`, ideal devices; the exact path for a float model, `on_pcm`
        False) and how many predictions differ (float32 against float64 at converter
        thresholds), imcsim's exact reference (no converters), and `checks` (imcsim with
        device noise)."""
        path = write_native(graph, out / f"{name}.yaml")
        g = read_native(path)
        p_torch = torch_predict(model, xte)
        p_ideal = (ideal_predictions(g, xte, overrides) if on_pcm else predict(g, xte))
        exact = accuracy(g, xte, yte)
        net = load_network(str(path))
        networks[name] = {
            "files": {"native": f"{name}.yaml", "weights": f"{name}.npz"},
            "about": about,
            "accuracy": {"torch": round(float(np.mean(p_torch == yte)), 6),
                         "imcsim_pcm_ideal_devices": round(float(np.mean(p_ideal == yte)), 6),
                         "torch_imcsim_disagreements": int(np.count_nonzero(
                             p_torch != p_ideal)),
                         "imcsim_exact": round(exact.value, 6),
                         "imcsim_exact_correct": exact.correct, "samples": exact.samples,
                         **checks},
            "parameters": trainable_parameter_count(g),
            "weight_macs": net.total_macs,
            "train_seconds": round(train_s, 1),
        }
        print(f"{name}: torch {np.mean(p_torch == yte):.4f}  imcsim exact {exact.value:.4f}"
              f"  {checks}  ({train_s:.1f} s)", flush=True)

    t0 = time.perf_counter()
    lstm_f = train_lstm_float(xtr, ytr, SEED)
    record("digits_lstm_float", lstm_f, export_lstm("digits_lstm_float", lstm_f),
           time.perf_counter() - t0, f"LSTM {HIDDEN} hidden units, float32 (the baseline)", {},
           None, on_pcm=False)
    spread = {}
    for s in SPREAD_SEEDS:  # the same recipe from other seeds: how far one training varies
        path = out / f"spread_q4_seed{s}.yaml"
        write_native(export_lstm("spread", train_lstm_qat(lstm_f, 4, xtr, ytr, s)), path)
        spread[f"seed{s}"] = round(imcsim_accuracy(path, pcm_overrides(4), DEVICE_SEEDS), 6)
        path.unlink()
        path.with_suffix(".npz").unlink()
    for bits in LSTM_BITS:
        name = f"digits_lstm_q{bits}"
        t0 = time.perf_counter()
        model = train_lstm_qat(lstm_f, bits, xtr, ytr, SEED)
        train_s = time.perf_counter() - t0
        path = out / f"{name}.yaml"
        write_native(export_lstm(name, model), path)
        checks = {f"pcm_{bits}bit_mean_{DEVICE_SEEDS}_seeds": round(imcsim_accuracy(
            path, pcm_overrides(bits), DEVICE_SEEDS), 6)}
        if bits == 4:
            checks["pcm_4bit_other_training_seeds"] = spread
        record(name, model, export_lstm(name, model), train_s,
               f"LSTM {HIDDEN} hidden units, QAT at {bits}-bit weights, DAC and ADC", checks,
               pcm_overrides(bits))
    t0 = time.perf_counter()
    cnns = train_cnns(xtr, ytr, SEED)
    train_s = time.perf_counter() - t0
    for name, model in cnns.items():
        path = out / f"{name}.yaml"
        write_native(export_cnn(name, model), path)
        checks = {f"pcm_snr0db_votes{k}_mean_{DEVICE_SEEDS}_seeds": round(imcsim_accuracy(
            path, None, DEVICE_SEEDS, snr_db=SNR_DB, votes=k), 6) for k in (1, VOTES)}
        checks[f"pcm_mean_{DEVICE_SEEDS}_seeds"] = round(imcsim_accuracy(path, None,
                                                                          DEVICE_SEEDS), 6)
        record(name, model, export_cnn(name, model), train_s,
               "CNN, 4-bit weights, 8-bit activations, 8-bit ADC, trained "
               + ("with noise at 0 dB SNR" if "noisy" in name else "without noise"), checks,
               None)
    manifest = {
        "about": "networks behind the two analog accuracy claims (README.md); written by "
                 "train_analog.py",
        "command": COMMAND,
        "seed": SEED,
        "data": {"source": "sklearn.datasets.load_digits (1,797 images, 8x8, 0..16)",
                 "split": f"train_test_split(test_size={TEST_FRACTION}, stratify=labels, "
                          f"random_state={SEED}), as workloads/digits",
                 "train_samples": int(len(ytr)), "test_samples": int(len(yte)),
                 "input": "pixel / 16, float32 (N, 1, 8, 8)",
                 "test_file": "test_split.npz (images, labels)"},
        "training": {"batch": BATCH, "epochs": EPOCHS, "learning_rate": LR,
                     "hidden": HIDDEN, "snr_db": SNR_DB},
        "environment": {"torch": str(torch.__version__), "python": platform.python_version(),
                        "threads": 1},
        "total_seconds": round(time.perf_counter() - start_all, 1),
        "networks": networks,
    }
    (out / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False, width=100))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
