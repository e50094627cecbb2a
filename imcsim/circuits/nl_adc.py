"""In-memory nonlinear ramp ADC: a memristor column shapes the ramp so the counter's code
is f(MAC) quantized (sigmoid, tanh or any monotone table).

Source: J. Yang et al., "Efficient nonlinear function approximation in analog resistive
crossbars for recurrent neural networks", Nat. Commun. 16 (2025), DOI
10.1038/s41467-025-56254-6. The published facts (2^N ramp cells + N bias-calibration cells
per N-bit column, calibration absorbing programming errors and stuck-at-OFF devices,
ratiometric to V_read, 2^N-step conversion) are kept; the details below are our design.

Target. On the domain [a, b] (MAC units), h(x) = (f(x) - f(a)) / (f(b) - f(a)) rises from
0 to 1 (for a decreasing f too: code c then stands for f(a) + c (f(b) - f(a)) / (2^N - 1)).
The ideal quantized output is Q(x) = round(h(x) (2^N - 1)); its transitions are
t_k = h^-1((k - 1/2) / (2^N - 1)), k = 1 .. 2^N - 1 (exact inverses: logit, artanh,
piecewise-linear for tables).

Ramp. Steps s_0 = t_1 - a, s_k = t_{k+1} - t_k, s_{2^N - 1} = b - t_{2^N - 1} (the last
step closes the ramp at b), one memristor each, G_i = g_u s_i with g_u = G_max / max_i s_i
(the largest step uses the full ON conductance; a ramp needing a step below G_min cannot
represent the function at these bits and is refused with the step count, not clipped).
Ramp current at counter step k: I_R,k = V_read sum_{i<=k} G_i.

Comparison. The MAC column, offset by the bias cells, delivers
I_M = V_read (g_u (x - a) + B - B_0), with B the sum of the N bias-calibration cells and
B_0 = N G_max / 2 their nominal (mid-range) total, so the trim tau = B - B_0 spans about
+-N G_max / 2. The counter output is the number of steps k (0 .. 2^N - 1) with
I_M - I_R,k + I_os > 0, clipped to 2^N - 1; I_os is a static comparator offset
(sigma in the YAML, 0 by default). Both currents scale with V_read, so without an offset
the codes do not depend on V_read (ratiometric), bit for bit: the model evaluates
V_read (m - R_k), whose sign is that of (m - R_k).

Non-idealities (tech/reram.py): programming error (additive Gaussian and/or lognormal),
stuck-at-OFF/ON faults of ramp and bias cells.

Calibration. After the ramp column is programmed, a sweep of known MAC inputs (the
calibration points) is converted for candidate trims tau; the tau with the least RMS
code error is kept (coarse grid, then a fine grid around the best). The bias cells are
then programmed to B_0 + tau: the cells found stuck at read-verify keep their value, the
healthy ones share the rest equally (within [G_min, G_max]); their own programming error
is not seen by the calibration.

The calibration runs at the YAML's V_read; `run_nl_adc` may then operate at another V_read
(a drifting supply), which leaves the codes unchanged unless a non-ratiometric error
(the comparator offset) is present.

Report: max and RMS of (code - Q(x)) in LSB over `eval_points` midpoints of the domain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from imcsim.circuits.analog_params import NL_FUNCTIONS, NlAdcParams
from imcsim.errors import ConfigError
from imcsim.tech import reram


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _logit(y):
    return np.log(y / (1.0 - y))


class Target:
    """The normalised target h(x) on [a, b] and its exact inverse."""

    def __init__(self, p: NlAdcParams):
        if p.function not in NL_FUNCTIONS:
            raise ConfigError(f"unknown function {p.function!r} (choose from "
                              f"{', '.join(NL_FUNCTIONS)})", source=p.source or None,
                              key="function")
        self.a, self.b, self.name = p.domain_min, p.domain_max, p.function
        if p.function == "table":
            xs = np.asarray(p.table_x, dtype=float)
            ys = np.asarray(p.table_y, dtype=float)
            inner = xs[(xs > self.a) & (xs < self.b)]
            self.nodes_x = np.concatenate(([self.a], inner, [self.b]))
            self.nodes_f = np.interp(self.nodes_x, xs, ys)
            self.f = lambda x: np.interp(x, xs, ys)
        else:
            named: dict[str, Callable[[Any], Any]] = {"sigmoid": _sigmoid, "tanh": np.tanh}
            self.f = named[p.function]
        self.fa, self.fb = float(self.f(self.a)), float(self.f(self.b))
        if self.fa == self.fb:
            raise ConfigError("the function is constant on the domain", source=p.source or None,
                              key="domain_max")

    def h(self, x):
        return (self.f(np.asarray(x, dtype=float)) - self.fa) / (self.fb - self.fa)

    def inverse(self, level: np.ndarray) -> np.ndarray:
        """Least x with h(x) >= level, for levels in (0, 1)."""
        y = self.fa + level * (self.fb - self.fa)
        if self.name == "sigmoid":
            return _logit(y)
        if self.name == "tanh":
            return np.arctanh(y)
        hn = (self.nodes_f - self.fa) / (self.fb - self.fa)
        j = np.clip(np.searchsorted(hn, level, side="left"), 1, len(hn) - 1)
        x0, x1, h0, h1 = self.nodes_x[j - 1], self.nodes_x[j], hn[j - 1], hn[j]
        return x0 + (level - h0) / (h1 - h0) * (x1 - x0)


def ideal_codes(x, target: Target, bits: int) -> np.ndarray:
    top = 2 ** bits - 1
    return np.clip(np.rint(target.h(x) * top), 0, top).astype(np.int64)


def ramp_design(p: NlAdcParams, target: Target) -> tuple[np.ndarray, float]:
    """Nominal ramp conductances G_0 .. G_{2^N - 1} (uS) and the scale g_u (uS per unit).

    The largest step takes G_max; a step that would need less than G_min cannot be
    programmed (it would sit at G_min and shift every later transition): such a ramp
    cannot represent the function at these bits and is refused (ConfigError naming
    `bits`), never clipped silently."""
    top = 2 ** p.bits - 1
    t = target.inverse((np.arange(1, top + 1) - 0.5) / top)
    edges = np.concatenate(([target.a], t, [target.b]))
    steps = np.diff(edges)
    g_u = p.device.g_max_us / steps.max()
    g = steps * g_u
    short = int(np.count_nonzero(g < p.device.g_min_us))
    if short:
        raise ConfigError(
            f"the ramp cannot represent {p.function} on [{p.domain_min:g}, "
            f"{p.domain_max:g}] at {p.bits} bits: {short} of its {g.size} steps need less "
            f"than g_min_us ({p.device.g_min_us:g} uS; the smallest needs {g.min():.3g} uS) "
            f"when the largest takes g_max_us ({p.device.g_max_us:g} uS); use fewer bits, "
            "a narrower domain or cells with a wider conductance window",
            source=p.source or None, key="bits")
    return g, g_u


def _codes(m: np.ndarray, ramp: np.ndarray, v_read: float, offset_ua: float, top: int):
    """Counter output for comparator inputs m (uS, any shape) against levels `ramp` (uS)."""
    diff = m[..., None] - ramp  # uS
    fired = v_read * diff + offset_ua > 0  # currents in uA
    return np.minimum(fired.sum(axis=-1), top)


def _calibrate(p: NlAdcParams, target: Target, ramp: np.ndarray, g_u: float,
               offset_ua: float) -> float:
    """Trim tau (uS) that minimises the RMS code error over the calibration sweep."""
    top = 2 ** p.bits - 1
    xc = target.a + (np.arange(p.calibration_points) + 0.5) * (target.b - target.a) \
        / p.calibration_points
    want = ideal_codes(xc, target, p.bits)
    m = g_u * (xc - target.a)
    half = p.bits * (p.device.g_max_us - p.device.g_min_us) / 2
    lo, hi, best = -half, half, 0.0
    for _ in range(2):  # coarse grid over the whole trim range, then fine around the best
        taus = np.linspace(lo, hi, 257)
        # the comparator fires at step k iff m + tau > R_k - I_os / V_read (same decision
        # as _codes, rearranged; the ramp is non-decreasing, so a sorted search counts it)
        got = np.minimum(np.searchsorted(ramp - offset_ua / p.v_read_v,
                                         m[None, :] + taus[:, None], side="left"), top)
        rms = ((got - want) ** 2).mean(axis=1)
        best = float(taus[np.lexsort((np.abs(taus), rms))[0]])
        step = taus[1] - taus[0]
        lo, hi = best - step, best + step
    return best


def _bias_targets(p: NlAdcParams, total: float, faults: np.ndarray) -> np.ndarray:
    dev = p.device
    stuck_value = np.where(faults == reram.STUCK_OFF, dev.g_min_us, dev.g_max_us)
    healthy = faults == reram.OK
    rest = total - stuck_value[~healthy].sum()
    share = rest / healthy.sum() if healthy.any() else 0.0
    return np.where(healthy, np.clip(share, dev.g_min_us, dev.g_max_us), stuck_value)


def run_nl_adc(p: NlAdcParams, seed: int = 0, v_read_v: float | None = None) -> dict:
    """Program one NL-ADC column, calibrate it at the YAML's V_read, convert a sweep at
    `v_read_v` (default: the same V_read); errors in LSB."""
    v_op = p.v_read_v if v_read_v is None else float(v_read_v)
    if not v_op > 0:
        raise ValueError("the read voltage must be positive")
    target = Target(p)
    rng = np.random.default_rng(seed)
    n, top = p.bits, 2 ** p.bits - 1
    g_nom, g_u = ramp_design(p, target)
    faults = reram.draw_faults((g_nom.size + n,), p.device, rng)
    g_ramp = reram.program(g_nom, p.device, rng, faults[:g_nom.size])
    offset_ua = float(rng.normal(0.0, p.comparator_offset_sigma_ua)) \
        if p.comparator_offset_sigma_ua > 0 else 0.0
    ramp = np.cumsum(g_ramp)
    tau = _calibrate(p, target, ramp, g_u, offset_ua)
    b0 = n * p.device.g_max_us / 2
    bias_faults = faults[g_nom.size:]
    g_bias = reram.program(_bias_targets(p, b0 + tau, bias_faults), p.device, rng, bias_faults)
    x = target.a + (np.arange(p.eval_points) + 0.5) * (target.b - target.a) / p.eval_points
    m = g_u * (x - target.a) + (g_bias.sum() - b0)
    codes = _codes(m, ramp, v_op, offset_ua, top)
    err = codes - ideal_codes(x, target, n)
    return {
        "function": p.function, "bits": n, "seed": seed, "v_read_v": v_op,
        "v_read_calibration_v": p.v_read_v,
        "max_error_lsb": int(np.abs(err).max()),
        "rms_error_lsb": float(np.sqrt((err ** 2).mean())),
        "over_1_lsb": float(np.mean(np.abs(err) > 1)),  # fraction of inputs off by > 1 LSB
        "ramp_cells": int(g_nom.size), "bias_cells": n,
        "conversion_steps": 2 ** n,
        "g_per_mac_unit_us": float(g_u),
        "trim_us": tau, "bias_total_us": float(g_bias.sum()),
        "stuck_cells": int((faults != reram.OK).sum()),
        "codes": codes,
    }


def error_distribution(p: NlAdcParams, seeds: int, first_seed: int = 0) -> dict:
    """The conversion error over `seeds` independently programmed columns (each with its
    own programming noise and stuck cells): per-column maximum error (mean, 95th
    percentile, maximum), mean RMS error, and the fraction of inputs off by more than
    1 LSB (mean and worst column) and of columns with any input off by more than 1 LSB."""
    if seeds < 1:
        raise ValueError("need at least one seed")
    runs = [run_nl_adc(p, first_seed + k) for k in range(seeds)]
    worst = np.array([r["max_error_lsb"] for r in runs], dtype=float)
    over = np.array([r["over_1_lsb"] for r in runs])
    return {"seeds": seeds, "max_error_lsb": {"mean": float(worst.mean()),
                                              "p95": float(np.percentile(worst, 95)),
                                              "max": float(worst.max())},
            "rms_error_lsb": float(np.mean([r["rms_error_lsb"] for r in runs])),
            "over_1_lsb": {"mean": float(over.mean()), "max": float(over.max())},
            "columns_over_1_lsb": float(np.mean(worst > 1)),
            "programming_sigma_us": p.device.programming_sigma_us}
