"""Noisy linear hooks for `graph_exec.run_graph`: what analog and photonic hardware (or a
digital array with bit flips) does to each weight layer's product.

Each hook keeps its programmed devices per layer (programming happens once; every batch
of images then reads the same devices), and takes every random draw from the seeded
generator it was built with, so the same seed gives the same accuracy.

- `CrossbarHook` (PCM / ReRAM): weights -> differential conductance pairs scaled to
  the layer's largest |w|; PCM: programming noise, drift to time t and 1/f read noise
  (imcsim.tech.pcm); ReRAM: lognormal/Gaussian variation and stuck-at faults
  (imcsim.tech.reram). y = x_dac @ ((G+ - G-) / (G_max - G_min) * w_max)^T, then a
  uniform ADC of `adc_bits` over the layer's full scale (max |y| of the exact product,
  the calibrated range). Inputs pass a `dac_bits` DAC over [0, max x]. With devices
  ideal and no converters the hook returns the exact product.
- `PhotonicHook`: `circuits.photonic.noisy_matvec` with K repeats per layer, at the
  detector current the layer's light gives (`circuits.photonic_sizing`).
- `BitFlipHook` (digital arrays): each stored weight bit flips with probability `rate`;
  ternary weights are stored as (sign, magnitude) bit pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imcsim.functional.linear import LinearCall


def quantize_uniform(v: np.ndarray, bits: int | None, lo: float, hi: float) -> np.ndarray:
    """Round v onto 2^bits uniform levels over [lo, hi] (clipped); None = no quantizer."""
    if bits is None or hi <= lo:
        return v
    steps = 2 ** bits - 1
    q = np.round((np.clip(v, lo, hi) - lo) / (hi - lo) * steps)
    return lo + q * (hi - lo) / steps


def _key(call: LinearCall) -> tuple[str, int]:
    return call.layer_name, call.group


@dataclass
class CrossbarHook:
    device: Any  # imcsim.tech.pcm.Pcm or a ReramParams
    rng: np.random.Generator
    t_s: float = 0.0  # time since programming (PCM drift and read noise)
    adc_bits: int | None = None
    dac_bits: int | None = None
    _cells: dict[tuple[str, int], tuple[np.ndarray, np.ndarray, float, float]] = field(
        default_factory=dict)

    def _program(self, call: LinearCall) -> tuple[np.ndarray, np.ndarray, float, float]:
        from imcsim.tech import reram
        from imcsim.tech.pcm import Pcm

        w = call.weights
        w_max = float(np.abs(w).max()) or 1.0
        if isinstance(self.device, Pcm):
            g_max, g_min = self.device.p.g_max_us, 0.0
            g_pos_t = np.clip(w, 0, None) / w_max * g_max
            g_neg_t = np.clip(-w, 0, None) / w_max * g_max
            dev = self.device
            g_pos = dev.drift(dev.program(g_pos_t, self.rng), self.t_s, self.rng,
                              g_target_us=g_pos_t)
            g_neg = dev.drift(dev.program(g_neg_t, self.rng), self.t_s, self.rng,
                              g_target_us=g_neg_t)
            cells = (np.stack([g_pos_t, g_neg_t]), np.stack([g_pos, g_neg]), w_max, g_max - g_min)
        else:
            p = self.device
            pos_t, neg_t = reram.weights_to_pairs(w, w_max, p)
            cells = (np.stack([pos_t, neg_t]),
                     np.stack([reram.program(pos_t, p, self.rng),
                               reram.program(neg_t, p, self.rng)]),
                     w_max, p.g_max_us - p.g_min_us)
        return cells

    def __call__(self, call: LinearCall) -> np.ndarray:
        from imcsim.tech.pcm import Pcm

        key = _key(call)
        if key not in self._cells:
            self._cells[key] = self._program(call)
        targets, g, w_max, span = self._cells[key]
        if isinstance(self.device, Pcm):
            g = self.device.read(g, self.t_s, self.rng, g_target_us=targets)
        w_eff = (g[0] - g[1]) / span * w_max
        x = call.rows
        x_hi = float(x.max()) if x.size else 0.0
        x = quantize_uniform(x, self.dac_bits, min(0.0, float(x.min())), x_hi)
        y = x @ w_eff.T
        full = float(np.abs(call.rows @ call.weights.T).max()) if x.size else 0.0
        return quantize_uniform(y, self.adc_bits, -full, full)


@dataclass
class PhotonicHook:
    """Each layer's product with the noise of its light: the detector current the layer
    gets under ``laser.sizing`` (`circuits.photonic_sizing.unit_current`, for its fan-in,
    required bits and repeats K), K noisy readings averaged."""

    core: Any  # PhotonicCore
    rng: np.random.Generator
    _currents: dict[tuple[str, int], float] = field(default_factory=dict)

    def __call__(self, call: LinearCall) -> np.ndarray:
        from imcsim.circuits.photonic import noisy_matvec, unit_current

        p = self.core.params
        name, fan_in = call.layer_name, call.weights.shape[1]
        k = p.repeats(name)
        if (name, fan_in) not in self._currents:
            self._currents[name, fan_in] = unit_current(p, fan_in, k, layer=name)
        return noisy_matvec(call.weights, call.rows.T, self.core, k, self.rng,
                            self._currents[name, fan_in]).T


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
