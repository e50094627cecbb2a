"""The AID study behind `imcsim circuit aid`: the one-seed Monte Carlo (circuits/aid.py),
the worst-case incorrect output (circuits/aid_worst_case.py), the SNR gain's distribution
over seeds and its sensitivity to the two parameters it hinges on.

- Seed distribution: the SNR gain of seeds 0 .. n-1 (`study.seeds`), each a fresh
  Monte Carlo of `trials` fabricated rows: mean, sample standard deviation (n - 1), min,
  max. The mean is the model's figure; one seed's value scatters around it by the std.
- Sensitivity: the seed-mean SNR gain (`study.sensitivity_seeds` seeds) and the exact
  worst-case errors, with one parameter changed and the rest as configured:
    device.vth_sigma_v over `study.vth_sigma_v` (V_th mismatch of one access transistor,
      Pelgrom's law sigma = A_VT / sqrt(2 W L); its value and source are in aid.yaml);
    device.alpha over `study.alpha` with law alpha_power (I ~ (V_WL - V_th)^alpha;
      Sakurai and Newton, IEEE JSSC 25(2) 1990: alpha = 2 long-channel, ~1.2-1.4 for
      velocity-saturated short channels). The root DAC stays the square root, as AID's.
"""

from __future__ import annotations

import dataclasses as dc

import numpy as np

from imcsim.circuits.aid import run_aid
from imcsim.circuits.aid_worst_case import worst_case
from imcsim.circuits.analog_params import AidParams


def snr_gain_seeds(params: AidParams, seeds: int) -> dict:
    """The SNR gain over seeds 0 .. seeds-1 (module docstring)."""
    gains = np.array([run_aid(params, seed)["snr_gain_db"] for seed in range(seeds)])
    return {"seeds": seeds, "mean": float(gains.mean()),
            "std": float(gains.std(ddof=1)) if seeds > 1 else 0.0,
            "min": float(gains.min()), "max": float(gains.max())}


def _point(params: AidParams) -> dict:
    root = worst_case(params, "root")
    return {"snr_gain_db": snr_gain_seeds(params, params.study.sensitivity_seeds)["mean"],
            "worst_error_sigma": root["worst_error_sigma"],
            "worst_error_sigma_product": root["worst_error_sigma_product"]}


def sensitivity(params: AidParams) -> dict:
    """The seed-mean SNR gain and the worst-case errors per swept value (module docstring)."""
    out: dict = {}
    for sigma in params.study.vth_sigma_v or []:
        p = dc.replace(params, device=dc.replace(params.device, vth_sigma_v=float(sigma)))
        out.setdefault("vth_sigma_v", []).append({"value": float(sigma), **_point(p)})
    for alpha in params.study.alpha or []:
        p = dc.replace(params, device=dc.replace(params.device, law="alpha_power",
                                                 alpha=float(alpha)))
        out.setdefault("alpha", []).append({"value": float(alpha), **_point(p)})
    return out


def run_aid_study(params: AidParams, seed: int = 0) -> dict:
    """Everything `imcsim circuit aid` reports (module docstring; keys in study.py)."""
    result = run_aid(params, seed)
    root, linear = worst_case(params, "root"), worst_case(params, "linear")
    return {**result, **root,
            "worst_error_sigma_linear": linear["worst_error_sigma"],
            "snr_gain_seeds": snr_gain_seeds(params, params.study.seeds),
            "sensitivity": sensitivity(params)}
