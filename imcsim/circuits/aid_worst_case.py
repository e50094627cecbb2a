"""Worst-case incorrect output of the AID multiplier, in standard deviations of its
Monte Carlo spread (the published claim: "Monte Carlo, 4x4-bit multiplication:
worst-case incorrect output < X standard deviations"; the abstract defines neither the
output nor the standard deviation, so this is our reading, stated here).

What is measured: the multiplier's analog output (the charge-shared bit-line swing, as a
circuit Monte Carlo sees it: no converter in the loop), read in product units through
the nominal transfer,

    y(x, B) = dV_out(x, B; V_th,1..N_b) / u,   u = dV_out,nominal(x_max, B_max) / (x_max B_max)

(for the root DAC under the square law the nominal transfer is exactly u x B), over
fabricated rows: V_th,j = V_th + sigma_Vth d_j, d_j ~ N(0, 1) independent per access
transistor (`device.vth_sigma_v`). Its mean and variance are computed exactly, not
sampled: the cells are independent and dV_out = (1/N_b) sum_j b_j s_j(x, d_j), so

    E[y]   = sum_j b_j E[s_j] / (N_b u),      Var[y] = sum_j b_j Var[s_j] / (N_b u)^2,

with E[s], E[s^2] over d by quadrature on a fine grid (the limit of infinitely many
Monte Carlo trials; a run of T trials adds an estimation error ~ s / sqrt(T) to every
mean, and the worst of 256 such means is biased upwards by about 3 s / sqrt(T)).

    systematic error   m(x, B) = E[y] - x B
    random spread      s(x, B) = sqrt(Var[y])
    worst_error_sigma          = max |m| / s_pool,  s_pool = sqrt(mean over (x, B) of s^2):
                                 the worst systematic error in units of the Monte Carlo
                                 noise over all products, the noise the SNR counts
                                 (our primary reading);
    worst_error_sigma_product  = max over outputs with s > 0 of |m| / s: each output
                                 against its own spread (the stricter reading).

Why the root DAC leaves an error: V_th mismatch raises the mean square-law current,
E[(V_ov - d sigma)^2] = V_ov^2 + sigma^2, a constant k sigma^2 / 2 per conducting cell.
Relative to a cell's signal it is (sigma / V_ov)^2, largest at the smallest overdrive
V_ov(1) = (VDD - V_th) / sqrt(x_max), while the spread is ~ 2 sigma / V_ov: so
|m| / s ~ (sigma / (2 V_ov(1))) B / sqrt(sum_j b_j 4^j), linear in sigma_Vth.
"""

from __future__ import annotations

import numpy as np

from imcsim.circuits.aid import output_swing_v, unit_swing_v
from imcsim.circuits.analog_params import AidParams

QUAD_POINTS = 4001  # quadrature grid over d in [-QUAD_SPAN, QUAD_SPAN]
QUAD_SPAN = 8.0


def output_moments(params: AidParams, dac: str) -> tuple[np.ndarray, np.ndarray]:
    """Exact mean and standard deviation of y(x, B) over V_th mismatch: two (X, B) arrays
    in product units (module docstring)."""
    nb = params.weight_bits
    z = np.linspace(-QUAD_SPAN, QUAD_SPAN, QUAD_POINTS)
    w = np.exp(-0.5 * z * z)
    w /= w.sum()
    x = np.arange(2 ** params.dac.bits)
    vth = params.device.vth_v + params.device.vth_sigma_v * z  # (Z,) one cell per point
    # one "trial" per grid point, every cell of the row at that V_th: (Z, X, N_b) per cell
    per_cell = output_swing_v(x, np.repeat(vth[:, None], nb, axis=1), params, dac,
                              per_cell=True)
    m1 = np.einsum("z,zxn->xn", w, per_cell)
    var = np.einsum("z,zxn->xn", w, per_cell ** 2) - m1 ** 2
    b_bits = (np.arange(2 ** nb)[:, None] >> np.arange(nb)) & 1  # (B, N_b)
    u = unit_swing_v(params, dac)
    mean = m1 @ b_bits.T / u
    std = np.sqrt(np.clip(var, 0.0, None) @ b_bits.T) / u
    return mean, std


def worst_case(params: AidParams, dac: str) -> dict:
    """Worst systematic error in standard deviations, both readings (module docstring)."""
    mean, std = output_moments(params, dac)
    x = np.arange(mean.shape[0])
    err = np.abs(mean - x[:, None] * np.arange(mean.shape[1])[None, :])
    pooled = float(np.sqrt((std ** 2).mean()))
    spread = std > 0
    ratio = np.where(spread, err / np.where(spread, std, 1.0), 0.0)
    at_pool = np.unravel_index(int(err.argmax()), err.shape)
    at_prod = np.unravel_index(int(ratio.argmax()), ratio.shape)
    return {
        "worst_error_sigma": float(err.max() / pooled) if pooled > 0 else float("inf"),
        "worst_error_at": [int(at_pool[0]), int(at_pool[1])],
        "worst_error_sigma_product": float(ratio.max()),
        "worst_error_product_at": [int(at_prod[0]), int(at_prod[1])],
        "worst_systematic_error": float(err.max()),  # product units
        "pooled_sigma": pooled,  # product units
    }
