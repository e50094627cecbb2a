"""Noise and precision of the optical multiply-accumulate (Garg et al., IEEE JSTQE 29(2), 2023),
for a given detector current; `photonic_sizing` chooses that current per layer.

Units: weights w in [-1, 1] (fraction of full-scale weight), inputs x in [-1, 1]
(fraction of full-scale modulation); one unit of the product y = sum_j w_j x_j is the
photocurrent of one input channel at full scale through a full-scale weight,
I_1 = responsivity * P_ch (P_ch: that channel's power at the detector; `photonic_sizing`).

Per reading (one symbol, receiver bandwidth B = f_mod / 2, integration T = 1/(2B)), in
product units squared. Direct detection (photodiode + TIA, balanced for signed weights;
standard photoreceiver noise, e.g. Agrawal, Fiber-Optic Communication Systems, ch. 4)::

    shot     sigma^2 = 2 q B I_det / I_1^2,  I_det = I_1 * sum_j |x_j|
                     = 2 q B sum_j |x_j| / I_1            (all the light is detected)
    thermal  sigma^2 = n_chunks * i_n^2 B / I_1^2         (TIA input noise density i_n)

Balanced homodyne (Yuen & Chan, Opt. Lett. 8, 177 (1983); as an optical MAC: Hamerly et
al., Phys. Rev. X 9, 021032 (2019)). The C = core.cols inputs of a detection add as
fields in a coherent core; a passive combiner passes amplitude 1/sqrt(C) of each (energy
conservation: a full-scale output carries the C channels' photons, no more), so the signal
amplitude is sqrt(P_ch / C) * y. Beaten with a local oscillator of power P_LO on a
balanced pair, the difference current is 2 R sqrt(P_LO P_ch / C) y and its noise is the
LO's shot noise 2 q R P_LO B plus the TIA's i_n^2 B (the signal's own shot noise is
P_ch/P_LO smaller and left out)::

    shot     sigma^2 = n_chunks * C q B / (2 I_1)
    thermal  sigma^2 = n_chunks * C i_n^2 B / (4 R P_LO I_1)    (= shot * i_n^2 / (2 q R P_LO))

so a strong LO (P_LO >> i_n^2 / (2 q R), 78 uW at 5 pA/rtHz, 1 A/W) leaves shot noise
only, and the full-scale SNR of one reading is 4 eta n_fs, n_fs = C P_ch T / (h nu) the
photons of a full-scale output, eta = R h nu / q the quantum efficiency (direct
detection, shot-limited: eta n_fs).

Both receivers::

    weight   sigma^2 = sigma_w^2 * sum_j x_j^2            (phase noise as an additive weight
                                                           error of std sigma_w, per symbol)

An output of fan-in N > C is detected in n_chunks = ceil(N / C) parts summed digitally;
the variances add. Dynamic precision: the symbol is repeated K times and the K readings
averaged, so sigma_K = sigma_1 / sqrt(K) (+0.5 log2 K bits) at K times the energy.

Effective bits against the full-scale output range 2N (all inputs and weights at full
scale, the worst case for direct detection's shot noise)::

    ENOB = log2(range / (sqrt(12) sigma))

(a uniform quantiser of step D has error std D / sqrt(12), so ENOB is the resolution of
the ideal quantiser whose error equals the analog noise; Garg et al. relate ENOB and bits
the same way).
"""

from __future__ import annotations

import math

import numpy as np

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


def bandwidth_hz(p: PhotonicParams) -> float:
    return p.core.modulation_ghz * 1e9 / 2.0


def photon_energy_j(p: PhotonicParams) -> float:
    """h c / lambda at the laser wavelength."""
    return PLANCK_J_S * LIGHT_M_S / (p.laser.wavelength_nm * 1e-9)


def quantum_efficiency(p: PhotonicParams) -> float:
    """eta = R h nu / q: electrons per photon of the detector (responsivity R)."""
    return p.detector.responsivity_a_per_w * photon_energy_j(p) / ELEMENTARY_CHARGE_C


def chunks_of(p: PhotonicParams, fan_in: int) -> int:
    """Detections whose digital sum makes one output of fan-in N: ceil(N / C)."""
    return math.ceil(fan_in / p.core.cols)


def noise_coefficients(p: PhotonicParams, sum_abs_x, sum_x2, chunks: int
                       ) -> dict[str, tuple[np.ndarray, int]]:
    """Each source's variance of one reading as (c, n): variance = c / I_1^n (equations
    above). Shot noise goes as 1 / I_1; the direct receiver's thermal noise as 1 / I_1^2,
    the homodyne receiver's as 1 / I_1 (the LO lifts the signal); weight noise does not
    depend on the light (n = 0)."""
    shape = np.shape(sum_abs_x)
    b = bandwidth_hz(p)
    q = ELEMENTARY_CHARGE_C
    i_n = p.detector.tia_noise_pa_per_rthz * 1e-12
    weight = p.noise.weight_noise_std ** 2 * np.asarray(sum_x2, dtype=float)
    if p.detector.receiver == "homodyne":
        c = chunks * p.core.cols
        lo_w = p.detector.lo_power_mw * 1e-3
        return {"shot": (np.full(shape, c * q * b / 2.0), 1),
                "thermal": (np.full(shape, c * i_n * i_n * b / (
                    4.0 * p.detector.responsivity_a_per_w * lo_w)), 1),
                "weight": (weight, 0)}
    return {"shot": (2.0 * q * b * np.asarray(sum_abs_x, dtype=float), 1),
            "thermal": (np.full(shape, chunks * i_n * i_n * b), 2),
            "weight": (weight, 0)}


def noise_terms(p: PhotonicParams, sum_abs_x, sum_x2, chunks: int,
                unit_current_a: float) -> dict[str, np.ndarray]:
    """The variance of one reading (K = 1) by source: shot, thermal, weight."""
    return {k: c / unit_current_a ** n
            for k, (c, n) in noise_coefficients(p, sum_abs_x, sum_x2, chunks).items()}


def noise_variance(p: PhotonicParams, sum_abs_x, sum_x2, chunks: int, unit_current_a: float):
    """Variance of one reading (one symbol, K = 1), in product units squared."""
    terms = noise_terms(p, sum_abs_x, sum_x2, chunks, unit_current_a)
    return terms["shot"] + terms["thermal"] + terms["weight"]


def full_scale_terms(p: PhotonicParams, fan_in: int, unit_current_a: float) -> dict[str, float]:
    """`noise_terms` of an output of fan-in N at full scale (sum|x| = sum x^2 = N)."""
    terms = noise_terms(p, fan_in, fan_in, chunks_of(p, fan_in), unit_current_a)
    return {k: float(v) for k, v in terms.items()}


def sigma_at(p: PhotonicParams, fan_in: int, repeats: int, unit_current_a: float) -> float:
    """Noise std of an output of fan-in N at full scale, averaged over K repeats."""
    k = check_repeats(repeats)
    return math.sqrt(sum(full_scale_terms(p, fan_in, unit_current_a).values()) / k)


def enob_of_sigma(fan_in: int, sigma: float) -> float:
    """log2(2N / (sqrt(12) sigma))."""
    return math.inf if sigma == 0 else math.log2(2.0 * fan_in / (math.sqrt(12.0) * sigma))


def required_sigma(fan_in: int, bits: float) -> float:
    """The noise std at which an output of fan-in N has `bits` effective bits:
    sigma = 2N / (sqrt(12) 2^bits) (the ENOB equation solved for sigma)."""
    return 2.0 * fan_in / (math.sqrt(12.0) * 2.0 ** bits)


def shot_limited_aj_per_mac(p: PhotonicParams, fan_in: int, bits: float) -> float:
    """Optical energy at the detectors per MAC when shot noise alone limits ENOB to `bits`
    (thermal and weight noise zero, one detection of N full-scale inputs, T = 1/f_mod,
    B = f_mod / 2). Direct: I_1 = 6 q B 4^b / N, so E_det = N (I_1 / R) T = 3 q 4^b / R.
    Homodyne: the variance is 4x smaller at the same I_1 (N = C), so E_det = 3 q 4^b / (4R).
    E/MAC = E_det / N."""
    homodyne = p.detector.receiver == "homodyne"
    e_det = 3.0 * ELEMENTARY_CHARGE_C * 4.0 ** bits / p.detector.responsivity_a_per_w
    return e_det / (4.0 if homodyne else 1.0) / fan_in * 1e18


def noisy_matvec(w: np.ndarray, x: np.ndarray, core, repeats: int,
                 rng: np.random.Generator, unit_current_a: float) -> np.ndarray:
    """y = w @ x as the core computes it: K noisy readings per output, averaged.

    `w` (M, N) and `x` (N,) or (N, B) in any units: they are scaled to full scale by
    max|w| and max|x| (as the weights and modulator drive would be), the noise of the
    equations above at detector current `unit_current_a` (I_1) is added to each of the K
    readings, the readings are averaged and the result scaled back. Vectorised over
    outputs and the batch; one loop over K. `core` is a `PhotonicCore` or
    `PhotonicParams`; `rng` a seeded numpy Generator.
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
    chunks = chunks_of(p, w.shape[1])
    std = np.sqrt(noise_variance(p, np.abs(xn).sum(axis=0), (xn * xn).sum(axis=0), chunks,
                                 unit_current_a))
    acc = np.zeros_like(y)
    for _ in range(k):
        acc += rng.standard_normal(y.shape)
    return (y + acc * (std / k)) * (ws * xs)
