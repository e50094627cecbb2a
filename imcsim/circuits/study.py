"""Circuit-level studies behind ``imcsim circuit aid|adc|nl-adc``: (JSON document, text).

    circuit_command("aid", {"config": None, "seed": 0})

`config` is a circuit YAML (default: the shipped one in arch_configs/circuits/), `seed`
seeds every random draw. The JSON documents' keys:
  aid    -> run_aid's keys (snr_db_linear, snr_db_root, snr_gain_db, worst_error_sigma,
            energy_pj, energy_breakdown_pj, ...) plus "circuit", "config";
  adc    -> {"circuit", "config", "seed", "global_clock_hz", "adcs": [{"kind", "bits",
            "adc_cycles", "global_cycles", "conversion_ns", "energy_pj", "area_um2",
            "max_inl_lsb", "max_dnl_lsb", "missing_codes", "inl_lsb", "dnl_lsb"}]};
  nl-adc -> run_nl_adc's keys without the codes (max_error_lsb, rms_error_lsb, ...).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from imcsim.circuits import analog_params as ap
from imcsim.errors import UsageError

OPTIONS = ("config", "seed")


def _options(options: dict) -> tuple[str | None, int]:
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise UsageError(f"unknown option(s) {', '.join(unknown)} (known: {', '.join(OPTIONS)})")
    seed = options.get("seed", 0)
    if seed is None:
        seed = 0
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UsageError(f"seed must be a non-negative integer, got {seed!r}", key="seed")
    return options.get("config"), seed


def _aid(config: str | None, seed: int) -> tuple[dict, str]:
    from imcsim.circuits.aid import run_aid

    params = ap.load_aid(config)
    doc = {"circuit": "aid", "config": params.source, **run_aid(params, seed)}
    e = doc["energy_breakdown_pj"]
    lines = [
        f"AID discharge-based SRAM multiplier ({params.dac.bits}x{params.weight_bits} bits, "
        f"{doc['trials']} Monte Carlo rows, seed {seed}, {params.device.law} law)",
        f"  SNR linear DAC   {doc['snr_db_linear']:7.2f} dB",
        f"  SNR root DAC     {doc['snr_db_root']:7.2f} dB",
        f"  SNR gain         {doc['snr_gain_db']:7.2f} dB   (`imcsim validate aid_sram`: "
        "beside the published figure)",
        f"  worst error      {doc['worst_error_sigma']:7.3f} sigma (root; linear "
        f"{doc['worst_error_sigma_linear']:.2f})",
        f"  energy           {doc['energy_pj']:7.3f} pJ per computation ({doc['energy_dac']} DAC;"
        " published 0.523 pJ, calibrated via dac.energy_pj)",
        "    " + ", ".join(f"{k} {v:.4f}" for k, v in e.items()),
    ]
    return doc, "\n".join(lines)


def _adc(config: str | None, seed: int) -> tuple[dict, str]:
    from imcsim.circuits.adc import Adc, ramp_test

    study = ap.load_adc_study(config)
    rows = []
    for i, kind in enumerate(ap.ADC_KINDS):
        params = getattr(study, kind)
        if params is None:
            continue
        adc = Adc(params, np.random.default_rng((seed, i)))
        lin = ramp_test(adc)
        gcy = adc.global_cycles(study.global_clock_hz)
        rows.append({
            "kind": kind, "bits": params.bits, "adc_cycles": adc.cycles, "global_cycles": gcy,
            "conversion_ns": gcy / study.global_clock_hz * 1e9,
            "energy_pj": adc.energy_pj, "area_um2": adc.area_um2,
            "max_inl_lsb": lin.max_inl, "max_dnl_lsb": lin.max_dnl,
            "missing_codes": lin.missing_codes,
            "inl_lsb": [round(float(v), 4) for v in lin.inl_lsb],
            "dnl_lsb": [round(float(v), 4) for v in lin.dnl_lsb],
        })
    doc = {"circuit": "adc", "config": study.source, "seed": seed,
           "global_clock_hz": study.global_clock_hz, "adcs": rows}
    lines = [f"ADCs (global clock {study.global_clock_hz / 1e9:g} GHz, durations rounded up; "
             f"seed {seed})",
             f"  {'kind':6} {'bits':>4} {'adc cyc':>8} {'glob cyc':>8} {'energy pJ':>10} "
             f"{'area um2':>9} {'|INL| LSB':>9} {'|DNL| LSB':>9} {'missing':>7}"]
    for r in rows:
        lines.append(f"  {r['kind']:6} {r['bits']:>4} {r['adc_cycles']:>8} {r['global_cycles']:>8} "
                     f"{r['energy_pj']:>10.4f} {r['area_um2']:>9.1f} {r['max_inl_lsb']:>9.3f} "
                     f"{r['max_dnl_lsb']:>9.3f} {r['missing_codes']:>7}")
    return doc, "\n".join(lines)


DISTRIBUTION_SEEDS = 30  # NL-ADC columns programmed for the error distribution


def _with_sigma(params: Any, sigma_us: float) -> Any:
    """The NL-ADC parameters with another programming noise."""
    import dataclasses

    return dataclasses.replace(params, device=dataclasses.replace(
        params.device, programming_sigma_us=sigma_us))


def _nl_adc(config: str | None, seed: int) -> tuple[dict, str]:
    from imcsim.circuits.nl_adc import error_distribution, run_nl_adc

    params = ap.load_nl_adc(config)
    res = run_nl_adc(params, seed)
    res.pop("codes")
    noise = params.device.programming_sigma_us
    sweep = {f"{factor:g}x": error_distribution(_with_sigma(params, noise * factor),
                                                 DISTRIBUTION_SEEDS, seed)
             for factor in (0.0, 1.0, 2.0)}
    doc = {"circuit": "nl-adc", "config": params.source, **res,
           "over_seeds": sweep["1x"], "programming_noise_sweep": sweep}
    lines = [
        f"In-memory nonlinear ramp ADC: {doc['function']}, {doc['bits']} bits, "
        f"V_read {doc['v_read_v']:g} V, seed {seed}",
        f"  cells            {doc['ramp_cells']} ramp + {doc['bias_cells']} bias "
        f"({doc['stuck_cells']} stuck)",
        f"  conversion       {doc['conversion_steps']} ramp steps",
        f"  error vs ideal   max {doc['max_error_lsb']} LSB, RMS {doc['rms_error_lsb']:.3f} LSB",
        *(f"  over {d['seeds']} columns at programming sigma {d['programming_sigma_us']:g} uS:"
          f" max error mean {d['max_error_lsb']['mean']:.2f} LSB (p95 "
          f"{d['max_error_lsb']['p95']:g}, worst {d['max_error_lsb']['max']:g}), "
          f"{d['over_1_lsb']['mean']:.1%} of inputs off by > 1 LSB (worst column "
          f"{d['over_1_lsb']['max']:.1%}), {d['columns_over_1_lsb']:.0%} of columns with one"
          for d in doc["programming_noise_sweep"].values()),
        f"  calibration trim {doc['trim_us']:+.2f} uS",
    ]
    return doc, "\n".join(lines)


KINDS = {"aid": _aid, "adc": _adc, "nl-adc": _nl_adc}


def circuit_command(kind: str, options: dict[str, Any]) -> tuple[dict, str]:
    """Run one circuit study; returns (JSON-serialisable document, text report)."""
    if kind not in KINDS:
        raise UsageError(f"unknown circuit {kind!r} (choose from {', '.join(KINDS)})")
    config, seed = _options(options)
    return KINDS[kind](config, seed)
