"""Noise and precision of the optical multiply-accumulate (Garg et al., IEEE JSTQE 29(2), 2023).

Units: weights w in [-1, 1] (fraction of full-scale weight), inputs x in [-1, 1]
(fraction of full-scale modulation); one unit of the product y = sum_j w_j x_j is the
photocurrent of one input channel at full scale through a full-scale weight::

    I_1 = responsivity * P_ch,   P_ch = 10^(S_PD/10) mW * 2^output_bits   (link budget)

Per output, per symbol (receiver bandwidth B = f_mod / 2), in product units squared::

    shot     sigma^2 = 2 q B I_det / I_1^2,  I_det = I_1 * sum_j |x_j|
                     = 2 q B sum_j |x_j| / I_1           (balanced receiver: all the light)
    thermal  sigma^2 = n_chunks * i_n^2 B / I_1^2        (TIA input noise density i_n, one
                                                          detection per chunk of C inputs)
    weight   sigma^2 = sigma_w^2 * sum_j x_j^2           (phase noise as an additive weight
                                                          error of std sigma_w, per symbol)

An output of fan-in N > C is detected in n_chunks = ceil(N / C) parts summed digitally;
the variances add. Dynamic precision: the symbol is repeated K times and the K readings
averaged, so sigma_K = sigma_1 / sqrt(K) (+0.5 log2 K bits) at K times the energy.

Effective bits against the full-scale output range 2N (all inputs and weights at full
scale, the worst case for shot noise)::

    ENOB = log2(range / (sqrt(12) sigma))

(a uniform quantiser of step D has error std D / sqrt(12), so ENOB is the resolution of
the ideal quantiser whose error equals the analog noise). The MZI mesh is modelled with
the same per-channel normalisation; the local oscillator of a homodyne receiver is not.
"""

from __future__ import annotations

import math

import numpy as np

from imcsim.circuits.photonic_link import link_budget
from imcsim.circuits.photonic_params import PhotonicParams
from imcsim.errors import ConfigError

# Physical constants (SI exact), not costs.
ELEMENTARY_CHARGE_C = 1.602176634e-19
PLANCK_J_S = 6.62607015e-34
LIGHT_M_S = 299_792_458.0


def as_params(core) -> PhotonicParams:
    """Accept a `PhotonicCore` (its `.params`) or the `PhotonicParams` themselves."""
    return getattr(core, "params", core)


def check_repeats(repeats: object, key: str = "repeats") -> int:
    """K must be an integer >= 1 (ConfigError naming `key` otherwise)."""
    if isinstance(repeats, bool) or not isinstance(repeats, (int, np.integer)) or repeats < 1:
        raise ConfigError(f"repeats K must be an integer >= 1, got {repeats!r}", key=key)
    return int(repeats)


def unit_current_a(p: PhotonicParams) -> float:
    """I_1: photocurrent of one full-scale channel at the detector (A)."""
    return p.detector.responsivity_a_per_w * link_budget(p).detector_mw_per_channel * 1e-3


def bandwidth_hz(p: PhotonicParams) -> float:
    return p.core.modulation_ghz * 1e9 / 2.0


def noise_variance(p: PhotonicParams, sum_abs_x, sum_x2, chunks: int):
    """Variance of one reading (one symbol, K = 1), in product units squared."""
    i1 = unit_current_a(p)
    b = bandwidth_hz(p)
    i_n = p.detector.tia_noise_pa_per_rthz * 1e-12
    shot = 2.0 * ELEMENTARY_CHARGE_C * b * np.asarray(sum_abs_x, dtype=float) / i1
    thermal = chunks * i_n * i_n * b / (i1 * i1)
    weight = p.noise.weight_noise_std ** 2 * np.asarray(sum_x2, dtype=float)
    return shot + thermal + weight


def full_scale_sigma(p: PhotonicParams, fan_in: int, repeats: int = 1) -> float:
    """Noise std of an output of fan-in N at full scale, averaged over K repeats."""
    p = as_params(p)
    k = check_repeats(repeats)
    chunks = math.ceil(fan_in / p.core.cols)
    return math.sqrt(float(noise_variance(p, fan_in, fan_in, chunks)) / k)


def enob(p: PhotonicParams, fan_in: int, repeats: int = 1) -> float:
    """log2(2N / (sqrt(12) sigma_K)); +0.5 bit per doubling of K."""
    p = as_params(p)
    sigma = full_scale_sigma(p, fan_in, repeats)
    return math.inf if sigma == 0 else math.log2(2.0 * fan_in / (math.sqrt(12.0) * sigma))


def repeats_for_bits(p: PhotonicParams, fan_in: int, bits: float) -> int:
    """Smallest K with ENOB(K) >= bits: K = ceil(4^(bits - ENOB(1)))."""
    p = as_params(p)
    k = max(1, math.ceil(4.0 ** (bits - enob(p, fan_in, 1)) - 1e-9))
    while enob(p, fan_in, k) < bits:
        k += 1
    return k


def shot_limited_aj_per_mac(p: PhotonicParams, fan_in: int, bits: float) -> float:
    """Optical energy at the detectors per MAC when shot noise alone limits ENOB to `bits`.

    From the equations above with thermal and weight noise zero, one detection of N
    full-scale inputs, T = 1/f_mod, B = f_mod/2:  I_1 = 6 q B 4^b / N, so
    E_det = N (I_1 / responsivity) T = 3 q 4^b / responsivity and E/MAC = E_det / N.
    """
    return 3.0 * ELEMENTARY_CHARGE_C * 4.0 ** bits / (p.detector.responsivity_a_per_w
                                                     * fan_in) * 1e18


def noisy_matvec(w: np.ndarray, x: np.ndarray, core, repeats: int,
                 rng: np.random.Generator) -> np.ndarray:
    """y = w @ x as the core computes it: K noisy readings per output, averaged.

    `w` (M, N) and `x` (N,) or (N, B) in any units: they are scaled to full scale by
    max|w| and max|x| (as the weights and modulator drive would be), the noise of the
    equations above is added to each of the K readings, the readings are averaged and
    the result scaled back. Vectorised over outputs and the batch; one loop over K.
    `core` is a `PhotonicCore` or `PhotonicParams`; `rng` a seeded numpy Generator.
    """
    p = as_params(core)
    k = check_repeats(repeats)
    w = np.asarray(w, dtype=float)
    x = np.asarray(x, dtype=float)
    if w.ndim != 2 or x.ndim not in (1, 2) or x.shape[0] != w.shape[1]:
        raise ValueError(f"shapes do not multiply: w {w.shape}, x {x.shape}")
    ws = float(np.max(np.abs(w))) if w.size else 0.0
    xs = float(np.max(np.abs(x))) if x.size else 0.0
    ws, xs = ws or 1.0, xs or 1.0
    wn, xn = w / ws, x / xs
    y = wn @ xn
    chunks = math.ceil(w.shape[1] / p.core.cols)
    std = np.sqrt(noise_variance(p, np.abs(xn).sum(axis=0), (xn * xn).sum(axis=0), chunks))
    acc = np.zeros_like(y)
    for _ in range(k):
        acc += rng.standard_normal(y.shape)
    return (y + acc * (std / k)) * (ws * xs)
