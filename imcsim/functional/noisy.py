"""Noisy linear hooks for `graph_exec.run_graph`: what analog and photonic hardware (or a
digital array with bit flips) does to each weight layer's product.

Each hook keeps its programmed devices per stored weight tensor (programming happens
once; every batch of images, every time step of an unrolled RNN reading the same weight
initializer and every repeated inference then reads the same devices), and takes every
random draw from the seeded generator it was built with, so the same seed gives the same
accuracy.

- `CrossbarHook` (PCM / ReRAM): each output channel's weights w_o are scaled to the
  conductance window by their largest magnitude m_o = max|w_o| (the channel's scale is a
  digital gain after the ADC), rounded to 2^B - 1 magnitude levels per side when the
  design stores B magnitude bits (`weight_bits`; sign by the differential pair), and
  programmed as differential pairs: PCM with programming noise, drift to time t and 1/f
  read noise (imcsim.tech.pcm); ReRAM with lognormal/Gaussian variation and stuck-at
  faults (imcsim.tech.reram). The rows pass a `dac_bits` DAC (`dac_rows`), the column
  currents are i = x_dac @ ((G+ - G-) / (G_max - G_min))^T, a uniform ADC of `adc_bits`
  converts them over the layer's full scale (max |i| of the exact product: the calibrated
  range), and y = ADC(i) * m_o. With devices ideal and no converters the hook returns the
  exact product.
- `PhotonicHook`: `circuits.photonic.noisy_matvec` with K repeats per layer, at the
  detector current the layer's light gives (`circuits.photonic_sizing`).
- `BitFlipHook` (digital arrays): each stored weight bit flips with probability `rate`;
  ternary weights are stored as (sign, magnitude) bit pairs.

Injected analog noise (`snr_db`, `imcsim run --accuracy --snr-db X`): additive white
Gaussian noise on every output of every weight layer's analog product, at a fixed
signal-to-noise power ratio (`snr_noise`). For one input n and one layer (one call: a
conv group), the signal power is the mean square of the layer's exact product over that
input's outputs (every channel and pixel), before the bias:

    P_s(n) = mean_{r in rows(n), o} (x_r . w_o)^2,   sigma_n^2 = P_s(n) 10^(-SNR_dB / 10)

(0 dB: noise power equal to signal power; Qin and Vucinic, arXiv 1811.10649). It enters
where the analog value lives: before a crossbar's ADC (on the column current, sigma_n /
m_o), after a photonic core's K readings are averaged (sigma_n / sqrt(K): each reading
carries it), before the AID tiles' ADC. A fresh draw for every inference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imcsim.functional.linear import LinearCall, QuantInfo


def quantize_uniform(v: np.ndarray, bits: int | None, lo: float, hi: float) -> np.ndarray:
    """Round v onto 2^bits uniform levels over [lo, hi] (clipped); None = no quantizer."""
    if bits is None or hi <= lo:
        return v
    steps = 2 ** bits - 1
    q = np.round((np.clip(v, lo, hi) - lo) / (hi - lo) * steps)
    return lo + q * (hi - lo) / steps


def quantize_weights(u: np.ndarray, bits: int | None) -> np.ndarray:
    """Normalised weights u in [-1, 1] rounded to 2^bits - 1 magnitude levels per sign
    (the sign is the differential pair); None: analog, unrounded."""
    if bits is None:
        return u
    levels = 2 ** bits - 1
    return np.round(u * levels) / levels


def dac_rows(rows: np.ndarray, x_quant: QuantInfo | None, bits: int | None) -> np.ndarray:
    """What a `bits`-bit row DAC applies for `rows`.

    Rows straight from a quantizer with a per-tensor scale are integer codes q (real =
    scale (q - zero_point)): codes of at most `bits` bits pass exactly; wider codes lose
    their low bits, q' = clip(round(q / 2^(b_q - bits)), range of `bits` bits) *
    2^(b_q - bits) (signed: the symmetric range +-(2^(bits-1) - 1)). Other rows are
    quantized uniformly over [min(0, min x), max x] of the batch (2^bits levels)."""
    if bits is None:
        return rows
    if x_quant is not None and np.size(x_quant.scale) == 1 and np.size(x_quant.zero_point) == 1:
        if x_quant.bits <= bits:
            return rows
        scale = float(np.asarray(x_quant.scale).reshape(-1)[0])
        zp = float(np.asarray(x_quant.zero_point).reshape(-1)[0])
        step = 2.0 ** (x_quant.bits - bits)
        lo, hi = ((-(2 ** (bits - 1)) + 1, 2 ** (bits - 1) - 1) if x_quant.signed
                  else (0, 2 ** bits - 1))
        codes = np.round(rows / scale + zp)
        return (np.clip(np.round(codes / step), lo, hi) * step - zp) * scale
    if not rows.size:
        return rows
    return quantize_uniform(rows, bits, min(0.0, float(rows.min())), float(rows.max()))


def snr_noise(exact: np.ndarray, inputs: int, snr_db: float,
              rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise for a layer's exact product `exact` (rows, outputs) at `snr_db`:
    per input (rows sample-major, `inputs` of them; 0: one signal), sigma^2 = mean square
    of that input's product x 10^(-snr_db / 10) (see the module docstring)."""
    rows = exact.shape[0]
    groups = inputs if inputs > 0 and rows % inputs == 0 else 1
    per = exact.reshape(groups, -1)
    sigma = np.sqrt(np.mean(per * per, axis=1) * 10.0 ** (-snr_db / 10.0))
    noise = rng.standard_normal(per.shape) * sigma[:, None]
    return noise.reshape(exact.shape)


def _key(call: LinearCall) -> tuple[str, int]:
    """The stored tensor a call reads, and its conv group: a Conv's, Gemm's or MatMul's
    weight initializer (shared by the steps of an unrolled RNN), else the layer (a weight
    part: an LSTM's W or R)."""
    if call.layer or call.node.op not in ("Conv", "Gemm", "MatMul"):
        return call.layer_name, call.group
    return call.node.input(1) or call.node.name, call.group


@dataclass
class _Cells:
    """A layer's programmed pairs: targets and programmed conductances (2, O, F), each
    channel's scale m_o (O,) and G_max - G_min."""

    targets: np.ndarray
    programmed: np.ndarray
    channel_max: np.ndarray
    span: float


@dataclass
class CrossbarHook:
    device: Any  # imcsim.tech.pcm.Pcm or a ReramParams
    rng: np.random.Generator
    t_s: float = 0.0  # time since programming (PCM drift and read noise)
    adc_bits: int | None = None
    dac_bits: int | None = None
    weight_bits: int | None = None  # magnitude bits per stored weight (None: analog)
    snr_db: float | None = None  # injected analog noise (None: none)
    _cells: dict[tuple[str, int], _Cells] = field(default_factory=dict)

    def _program(self, call: LinearCall) -> _Cells:
        from imcsim.tech import reram
        from imcsim.tech.pcm import Pcm

        w = call.weights
        m = np.abs(w).max(axis=1) if w.size else np.ones(w.shape[0])
        m = np.where(m > 0, m, 1.0)
        u = quantize_weights(w / m[:, None], self.weight_bits)
        if isinstance(self.device, Pcm):
            g_max = self.device.p.g_max_us
            pos_t, neg_t = np.clip(u, 0, None) * g_max, np.clip(-u, 0, None) * g_max
            dev = self.device
            pos = dev.drift(dev.program(pos_t, self.rng), self.t_s, self.rng, g_target_us=pos_t)
            neg = dev.drift(dev.program(neg_t, self.rng), self.t_s, self.rng, g_target_us=neg_t)
            return _Cells(np.stack([pos_t, neg_t]), np.stack([pos, neg]), m, g_max)
        p = self.device
        pos_t, neg_t = reram.weights_to_pairs(u, 1.0, p)
        programmed = np.stack([reram.program(pos_t, p, self.rng),
                               reram.program(neg_t, p, self.rng)])
        return _Cells(np.stack([pos_t, neg_t]), programmed, m, p.g_max_us - p.g_min_us)

    def __call__(self, call: LinearCall) -> np.ndarray:
        from imcsim.tech.pcm import Pcm

        key = _key(call)
        if key not in self._cells:
            self._cells[key] = self._program(call)
        cells = self._cells[key]
        g = cells.programmed
        if isinstance(self.device, Pcm):
            g = self.device.read(g, self.t_s, self.rng, g_target_us=cells.targets)
        u_eff = (g[0] - g[1]) / cells.span
        current = dac_rows(call.rows, call.x_quant, self.dac_bits) @ u_eff.T
        exact = call.rows @ (call.weights / cells.channel_max[:, None]).T
        if self.snr_db is not None:
            real = exact * cells.channel_max
            current = current + snr_noise(real, call.inputs, self.snr_db,
                                          self.rng) / cells.channel_max
        full = float(np.abs(exact).max()) if exact.size else 0.0
        return quantize_uniform(current, self.adc_bits, -full, full) * cells.channel_max


@dataclass
class PhotonicHook:
    """Each layer's product with the noise of its light: the detector current the layer
    gets under ``laser.sizing`` (`circuits.photonic_sizing.unit_current`, for its fan-in,
    required bits and repeats K), K noisy readings averaged."""

    core: Any  # PhotonicCore
    rng: np.random.Generator
    snr_db: float | None = None  # injected analog noise per reading (None: none)
    _currents: dict[tuple[str, int], float] = field(default_factory=dict)

    def __call__(self, call: LinearCall) -> np.ndarray:
        from imcsim.circuits.photonic import noisy_matvec, unit_current

        p = self.core.params
        name, fan_in = call.layer_name, call.weights.shape[1]
        k = p.repeats(name)
        if (name, fan_in) not in self._currents:
            self._currents[name, fan_in] = unit_current(p, fan_in, k, layer=name)
        y = noisy_matvec(call.weights, call.rows.T, self.core, k, self.rng,
                         self._currents[name, fan_in]).T
        if self.snr_db is not None:  # each of the K averaged readings carries it
            exact = call.rows @ call.weights.T
            y = y + snr_noise(exact, call.inputs, self.snr_db, self.rng) / np.sqrt(k)
        return y


@dataclass
class BitFlipHook:
    rate: float
    rng: np.random.Generator
    _weights: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)

    def __call__(self, call: LinearCall) -> np.ndarray:
        key = _key(call)
        if key not in self._weights:
            self._weights[key] = self._flip(call)
        return call.rows @ self._weights[key].T

    def _flip(self, call: LinearCall) -> np.ndarray:
        if call.levels is None or call.scale is None:
            raise ValueError(f"layer {call.node.name}: bit flips need quantized weights")
        lv = call.levels
        sign, mag = lv < 0, lv != 0
        sign ^= self.rng.random(lv.shape) < self.rate
        mag ^= self.rng.random(lv.shape) < self.rate
        flipped = np.where(mag, np.where(sign, -1, 1), 0)
        return flipped * call.scale[:, None]
