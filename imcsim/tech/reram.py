"""ReRAM cells: programming variation, stuck-at faults, differential weights, bit slicing.

Conductances in uS; parameters (`ReramParams`) come from a circuit YAML.

Programming of a target G_t (after the fault draw):
    G = G_t * exp(N(0, sigma_ln)) + N(0, sigma_G),  clipped at 0,
the lognormal term for multiplicative (filament) spread, the Gaussian one for the
write-verify tolerance; either sigma may be 0. Stuck-at faults, drawn per cell before
programming with probabilities p_off and p_on, pin a cell at G_min (OFF) or G_max (ON)
whatever its target.

Signed weights use a differential pair (G+, G-):
    w >= 0: G+ = G_min + (G_max - G_min) w / w_max, G- = G_min; w < 0 mirrored,
so w = (G+ - G-) w_max / (G_max - G_min). Bit slicing splits an integer magnitude |w| of
B bits into ceil(B / b) slices of b bits (least significant first), each slice value
v in [0, 2^b - 1] stored as G_min + (G_max - G_min) v / (2^b - 1); the column results are
recombined with weights 2^(b i).
"""

from __future__ import annotations

import numpy as np

from imcsim.tech.device_params import ReramParams

OK, STUCK_OFF, STUCK_ON = 0, -1, 1


def draw_faults(shape: tuple[int, ...], p: ReramParams, rng: np.random.Generator) -> np.ndarray:
    """Per-cell fault map: 0 healthy, -1 stuck at OFF (G_min), +1 stuck at ON (G_max)."""
    u = rng.random(shape)
    faults = np.zeros(shape, dtype=np.int8)
    faults[u < p.stuck_off_rate] = STUCK_OFF
    faults[(u >= p.stuck_off_rate) & (u < p.stuck_off_rate + p.stuck_on_rate)] = STUCK_ON
    return faults


def program(g_target, p: ReramParams, rng: np.random.Generator,
            faults: np.ndarray | None = None) -> np.ndarray:
    """Programmed conductances for targets `g_target` (uS); faults drawn if not given."""
    g_t = np.asarray(g_target, dtype=float)
    if faults is None:
        faults = draw_faults(g_t.shape, p, rng)
    g = g_t
    if p.lognormal_sigma > 0:
        g = g * np.exp(rng.normal(0.0, p.lognormal_sigma, g.shape))
    if p.programming_sigma_us > 0:
        g = g + rng.normal(0.0, p.programming_sigma_us, g.shape)
    g = np.clip(g, 0.0, None)
    g = np.where(faults == STUCK_OFF, p.g_min_us, g)
    return np.where(faults == STUCK_ON, p.g_max_us, g)


def weights_to_pairs(w, w_max: float, p: ReramParams) -> tuple[np.ndarray, np.ndarray]:
    """Signed weights -> differential conductance targets (G+, G-)."""
    w = np.asarray(w, dtype=float)
    if np.any(np.abs(w) > w_max * (1 + 1e-12)):
        raise ValueError("|w| exceeds w_max")
    span = p.g_max_us - p.g_min_us
    g_pos = p.g_min_us + span * np.clip(w, 0, None) / w_max
    g_neg = p.g_min_us + span * np.clip(-w, 0, None) / w_max
    return g_pos, g_neg


def pairs_to_weights(g_pos, g_neg, w_max: float, p: ReramParams) -> np.ndarray:
    """Differential read-out back to weights: (G+ - G-) w_max / (G_max - G_min)."""
    return (np.asarray(g_pos) - np.asarray(g_neg)) * w_max / (p.g_max_us - p.g_min_us)


def bit_slices(w_int, weight_bits: int, bits_per_cell: int) -> np.ndarray:
    """Unsigned integers of `weight_bits` bits -> slices (n_slices, *shape), LSB slice first."""
    w = np.asarray(w_int, dtype=np.int64)
    if np.any(w < 0) or np.any(w >= 2 ** weight_bits):
        raise ValueError(f"values must be in [0, 2^{weight_bits})")
    n = -(-weight_bits // bits_per_cell)
    mask = (1 << bits_per_cell) - 1
    return np.stack([(w >> (bits_per_cell * i)) & mask for i in range(n)])


def combine_slices(slices, bits_per_cell: int) -> np.ndarray:
    """Inverse of `bit_slices` (works on analog slice values too)."""
    s = np.asarray(slices)
    scale = (2.0 ** (bits_per_cell * np.arange(s.shape[0]))).reshape((-1,) + (1,) * (s.ndim - 1))
    return (s * scale).sum(axis=0)


def sliced_pairs(w_int, weight_bits: int, bits_per_cell: int,
                 p: ReramParams) -> tuple[np.ndarray, np.ndarray]:
    """Signed integer weights -> per-slice differential targets (n_slices, *shape) each."""
    w = np.asarray(w_int, dtype=np.int64)
    mag = bit_slices(np.abs(w), weight_bits, bits_per_cell).astype(float)
    levels = 2 ** bits_per_cell - 1
    span = p.g_max_us - p.g_min_us
    g_pos = p.g_min_us + span * np.where(w >= 0, mag, 0.0) / levels
    g_neg = p.g_min_us + span * np.where(w < 0, mag, 0.0) / levels
    return g_pos, g_neg


def slices_to_weights(g_pos, g_neg, bits_per_cell: int, p: ReramParams) -> np.ndarray:
    """Read per-slice pairs back to (analog) signed integer weights."""
    levels = 2 ** bits_per_cell - 1
    v = (np.asarray(g_pos) - np.asarray(g_neg)) * levels / (p.g_max_us - p.g_min_us)
    return combine_slices(v, bits_per_cell)
