"""Discharge-based 6T-SRAM multiplier with a root-function word-line DAC (AID).

Source: S. Seyedfaraji, B. Mesgari, S. Rehman, "AID: Accuracy Improvement of Analog
Discharge-Based in-SRAM Multiplication Accelerator", DATE 2022 (arXiv 2204.07387); only
the abstract is public, so the circuit below is our reading of it (numbers in aid.yaml).

Operation, for an input code x (N_a bits, operand A) and a stored word B (N_b bits, one
cell per bit in one row):
1. a DAC sets the word line to V_WL(x):
     linear DAC (state-of-the-art baseline): V_WL = V_floor + (VDD - V_floor) x / (2^N_a - 1),
       with V_floor = V_th by default (x maps linearly onto the overdrive range);
     root DAC (AID):                         V_WL = V_th + (VDD - V_th) sqrt(x / (2^N_a - 1));
   with `dac.zero_code_off` an input code 0 leaves the word line low (V_WL = 0: nothing
   to multiply, so the row is not asserted) instead of at V_floor / V_th;
2. every cell j storing b_j = 1 discharges its precharged bit line through its access
   transistor, in saturation: I_j = (k/2) max(V_WL - V_th,j, 0)^alpha (alpha = 2 square
   law, 1 linear law for tests, or a fitted alpha-power law), with k fixed by the read
   current at full overdrive; bit j's line is sampled after 2^j T0 (binary weighting by
   time): dV_j = b_j I_j 2^j T0 / C_BL;
3. the N_b sampled lines share charge: dV_out = (1/N_b) sum_j dV_j  (proportional to
   I(x) * B when all V_th,j are equal);
4. an ADC (imcsim.circuits.adc) converts dV_out; its full scale is the nominal
   dV_out(x_max, B_max) scaled so that this lands on the top code.
Under the square law the linear DAC gives dV_out ~ x^2 B, the root DAC dV_out ~ x B.

Monte Carlo: each trial is one fabricated row (N_b access transistors with V_th ~
N(V_th, sigma_Vth), and one ADC instance) computing all 2^N_a x 2^N_b products; ADC
noise is drawn per conversion. Both DACs see the same devices and noise draws.

Accuracy metrics (our definitions; the abstract gives none):
- SNR over all products and trials, after an ideal gain correction g (least squares,
  g = sum(y p) / sum(p^2), p = x B the exact product, y the output code):
      SNR = 10 log10( sum (g p)^2 / sum (y - g p)^2 ),
  so "noise" holds nonlinearity, mismatch, ADC noise and quantization;
- the worst-case incorrect output of the analog multiplier in standard deviations of its
  Monte Carlo spread: `imcsim.circuits.aid_worst_case` (exact moments, no converter);
- worst_error_sigma_codes: the same reading on the converted codes of this Monte Carlo
  (per product, mean error m(x, B) of y/g - p over the trials; worst |m| over the pooled
  standard deviation): it adds the ADC's quantization (226 products on 2^8 codes, up to
  half a code of deterministic error) and the trials' estimation noise (~3 / sqrt(T)
  pooled-sigma units for the worst of 256 means); worst_std_lsb: the largest per-product
  standard deviation, in units of one product step.

Energy per computation, nominal devices, averaged over all operand pairs, for the DAC
kind chosen in the YAML:
  E = E_precharge + E_WL + E_DAC + E_acc + E_ADC;
  the published scope ("multiplication, accumulation and preset") is E without E_ADC,
  E_precharge = sum_j b_j C_BL VDD dV_BL,j  (every line storing 1 discharges for the whole
                word-line window 2^(N_b - 1) T0, and is restored from VDD),
  E_WL = C_WL VDD V_WL(x)  (word line charged from VDD through the DAC driver),
  E_DAC, E_acc per operation and E_ADC from the ADC model, all from the YAML.
"""

from __future__ import annotations

import numpy as np

from imcsim.circuits.adc import Adc
from imcsim.circuits.analog_params import AidParams
from imcsim.errors import ConfigError

_FJ_TO_PJ = 1e-3


def law_exponent(params: AidParams) -> float:
    return {"square": 2.0, "linear": 1.0, "alpha_power": params.device.alpha}[params.device.law]


def word_line_voltage(x: np.ndarray, params: AidParams, dac: str) -> np.ndarray:
    """V_WL(x) of the linear or root DAC (see module docstring)."""
    vdd, vth = params.vdd_v, params.device.vth_v
    codes = np.asarray(x, dtype=float)
    frac = codes / (2 ** params.dac.bits - 1)
    if dac == "linear":
        floor = vth if params.dac.linear_floor_v is None else params.dac.linear_floor_v
        v = floor + (vdd - floor) * frac
    elif dac == "root":
        v = vth + (vdd - vth) * np.sqrt(frac)
    else:
        raise ConfigError(f"unknown word-line DAC {dac!r} (choose from root, linear)",
                          key="dac.kind")
    return np.where(codes == 0, 0.0, v) if params.dac.zero_code_off else v


def cell_current_ua(v_wl: np.ndarray, vth: np.ndarray, params: AidParams) -> np.ndarray:
    """Saturation current (k/2) max(V_WL - V_th, 0)^alpha, k from the read current."""
    alpha = law_exponent(params)
    k_half = params.device.read_current_ua / (params.vdd_v - params.device.vth_v) ** alpha
    return k_half * np.clip(v_wl - vth, 0.0, None) ** alpha


def _swing_v(current_ua: np.ndarray | float, time_ps: np.ndarray | float,
             cap_ff: float) -> np.ndarray | float:
    return current_ua * time_ps / cap_ff * 1e-3  # uA * ps / fF = 1e-3 V


def _weights_ps(params: AidParams) -> np.ndarray:
    return params.array.unit_time_ps * 2.0 ** np.arange(params.weight_bits)


def output_swing_v(x: np.ndarray, vth: np.ndarray, params: AidParams, dac: str,
                   per_cell: bool = False) -> np.ndarray:
    """Charge-shared swing dV_out for every (trial, x, B): shape (T, X, 2^N_b).

    `vth` has shape (T, N_b): one row of access transistors per trial. With `per_cell`,
    each cell's share dV_j / N_b instead, shape (T, X, N_b) (dV_out sums those of the
    cells storing 1).
    """
    nb = params.weight_bits
    v_wl = word_line_voltage(x, params, dac)
    cur = cell_current_ua(v_wl[None, :, None], vth[:, None, :], params)  # (T, X, N_b)
    dv = np.asarray(_swing_v(cur, _weights_ps(params), params.array.bitline_cap_ff)) / nb
    if per_cell:
        return dv
    b_bits = (np.arange(2 ** nb)[:, None] >> np.arange(nb)) & 1  # (B, N_b)
    return np.einsum("txn,bn->txb", dv, b_bits)


def unit_swing_v(params: AidParams, dac: str) -> float:
    """Nominal swing per product unit: dV_out(x_max, B_max) / (x_max B_max)."""
    x_max, b_max = 2 ** params.dac.bits - 1, 2 ** params.weight_bits - 1
    vth = np.full((1, params.weight_bits), params.device.vth_v)
    top = float(output_swing_v(np.array([x_max]), vth, params, dac)[0, 0, -1])
    return top / (x_max * b_max)


def check_saturation(params: AidParams) -> float:
    """Margin (V) of the MSB cell at full input: it must stay saturated, dV <= V_th."""
    i_full = params.device.read_current_ua
    swing = float(_swing_v(i_full, _weights_ps(params)[-1], params.array.bitline_cap_ff))
    margin = params.device.vth_v - swing
    if margin < 0:
        raise ConfigError(f"the MSB bit line swings {swing:.3f} V, more than V_th: the access "
                          "transistor leaves saturation; shorten the unit time",
                          source=params.source or None, key="array.unit_time_ps")
    return margin


def full_scale_v(params: AidParams) -> float:
    """ADC full scale: the nominal maximum swing lands on the top code."""
    if params.adc.full_scale_v is not None:
        return params.adc.full_scale_v
    products = (2 ** params.dac.bits - 1) * (2 ** params.weight_bits - 1)
    top = unit_swing_v(params, "root") * products
    m = 2 ** params.adc.bits
    return top * m / (m - 1)


def _convert(swing: np.ndarray, adcs: list[Adc], rng: np.random.Generator) -> np.ndarray:
    if len(adcs) == 1:
        return adcs[0].convert(swing, rng)
    return np.stack([adc.convert(s, rng) for adc, s in zip(adcs, swing, strict=True)])


def accuracy(codes: np.ndarray, products: np.ndarray) -> dict:
    """SNR and error statistics of codes (T, X, B) against exact products (X, B)."""
    p = np.broadcast_to(products, codes.shape).astype(float)
    y = codes.astype(float)
    gain = float((y * p).sum() / (p * p).sum())
    noise = ((y - gain * p) ** 2).sum()
    snr = 10.0 * np.log10(((gain * p) ** 2).sum() / noise) if noise > 0 else float("inf")
    err = y / gain - p
    mean, std = err.mean(axis=0), err.std(axis=0)
    pooled = float(np.sqrt((std ** 2).mean()))
    worst = float(np.abs(mean).max() / pooled) if pooled > 0 else float("inf")
    return {"snr_db": float(snr), "gain_codes_per_product": gain,
            "worst_error_sigma_codes": worst, "worst_std_lsb": float(std.max()),
            "rms_error_lsb": float(np.sqrt((err ** 2).mean()))}


def energy_breakdown_pj(params: AidParams, adc: Adc, dac: str) -> dict[str, float]:
    """Mean energy per computation by component (module docstring), nominal devices."""
    na, nb = params.dac.bits, params.weight_bits
    x = np.arange(2 ** na)
    v_wl = word_line_voltage(x, params, dac)
    cur = cell_current_ua(v_wl, np.float64(params.device.vth_v), params)  # (X,)
    window_ps = params.array.unit_time_ps * 2 ** (nb - 1)
    dv_bl = np.minimum(_swing_v(cur, window_ps, params.array.bitline_cap_ff), params.vdd_v)
    # every stored bit is 1 in half of the words: mean over B of sum_j b_j = N_b / 2
    precharge = params.array.bitline_cap_ff * params.vdd_v * dv_bl.mean() * nb / 2
    wordline = params.array.wordline_cap_ff * params.vdd_v * v_wl.mean()
    return {"precharge": float(precharge * _FJ_TO_PJ), "wordline": float(wordline * _FJ_TO_PJ),
            "dac": params.dac.energy_pj, "adc": adc.energy_pj,
            "accumulate": params.accumulate_energy_pj}


SCOPE = ("precharge", "wordline", "dac", "accumulate")  # the published energy's scope


def energy_summary(params: AidParams, adc: Adc) -> dict:
    """Energy per computation of the design's DAC and of the other one (the baseline when
    the design is the root DAC), in total and in the published scope (no conversion)."""
    kind = params.dac.kind
    other = "linear" if kind == "root" else "root"
    parts = {dac: energy_breakdown_pj(params, adc, dac) for dac in (kind, other)}
    total = {dac: sum(e.values()) for dac, e in parts.items()}
    scope = {dac: sum(e[k] for k in SCOPE) for dac, e in parts.items()}
    return {
        "energy_pj": total[kind],
        "energy_scope_pj": scope[kind],
        "energy_breakdown_pj": parts[kind],
        "energy_dac": kind,
        "energy_baseline": {"dac": other, "energy_pj": total[other],
                            "energy_scope_pj": scope[other],
                            "energy_breakdown_pj": parts[other]},
        # 1 - E_design / E_baseline: positive when the design costs less
        "energy_saving_vs_baseline": 1.0 - total[kind] / total[other],
        "energy_saving_vs_baseline_scope": 1.0 - scope[kind] / scope[other],
    }


def run_aid(params: AidParams, seed: int = 0) -> dict:
    """Monte Carlo of both DACs on the same devices; accuracy and energy (see docstring)."""
    margin = check_saturation(params)
    rng = np.random.default_rng(seed)
    na, nb, trials = params.dac.bits, params.weight_bits, params.trials
    vth = params.device.vth_v + params.device.vth_sigma_v * rng.standard_normal((trials, nb))
    fs = full_scale_v(params)
    static = params.adc.comparator_offset_sigma_v > 0 or params.adc.unit_mismatch > 0
    adcs = [Adc(params.adc, rng, fs) for _ in range(trials if static else 1)]
    x = np.arange(2 ** na)
    products = x[:, None] * np.arange(2 ** nb)[None, :]
    result = {}
    for dac in ("linear", "root"):
        codes = _convert(output_swing_v(x, vth, params, dac), adcs, rng)
        result[dac] = accuracy(codes, products)
    return {
        "snr_db_linear": result["linear"]["snr_db"],
        "snr_db_root": result["root"]["snr_db"],
        "snr_gain_db": result["root"]["snr_db"] - result["linear"]["snr_db"],
        "worst_error_sigma_codes": result["root"]["worst_error_sigma_codes"],
        "worst_std_lsb": result["root"]["worst_std_lsb"],
        **energy_summary(params, adcs[0]),
        "detail": result,
        "adc_full_scale_v": fs,
        "adc_energy_pj": adcs[0].energy_pj,
        "saturation_margin_v": margin,
        "trials": trials,
        "seed": seed,
    }
