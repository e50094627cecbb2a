"""Circuit-level studies behind ``imcsim circuit aid|adc|nl-adc``: (JSON document, text).

    circuit_command("aid", {"config": None, "seed": 0, "overrides": None})

`config` is a circuit YAML (default: the shipped one in arch_configs/circuits/), `seed`
seeds every random draw, `overrides` sets dotted keys of the config before it is
checked (e.g. {"device.vth_sigma_v": 0.02}: what `imcsim validate`'s ablations use).
The JSON documents' keys:
  aid    -> circuits/aid_study.run_aid_study's keys: snr_db_linear, snr_db_root,
            snr_gain_db (this seed), snr_gain_seeds {seeds, mean, std, min, max},
            worst_error_sigma (pooled), worst_error_sigma_product, worst_error_at,
            worst_error_product_at, worst_error_sigma_linear, worst_error_sigma_codes,
            energy_pj, energy_scope_pj, energy_breakdown_pj, energy_baseline {dac,
            energy_pj, energy_scope_pj, energy_breakdown_pj}, energy_saving_vs_baseline,
            energy_saving_vs_baseline_scope, sensitivity {vth_sigma_v, alpha: [{value,
            snr_gain_db, worst_error_sigma, worst_error_sigma_product}]}, ... plus
            "circuit", "config";
  adc    -> {"circuit", "config", "seed", "global_clock_hz", "adcs": [{"kind", "bits",
            "adc_cycles", "global_cycles", "conversion_ns", "energy_pj",
            "energy_fj_per_step", "energy_basis", "area_um2", "max_inl_lsb", "max_dnl_lsb",
            "missing_codes", "inl_lsb", "dnl_lsb"}]};
  nl-adc -> run_nl_adc's keys without the codes (max_error_lsb, rms_error_lsb, ...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from imcsim.circuits import analog_params as ap
from imcsim.errors import UsageError

OPTIONS = ("config", "seed", "overrides")
Overrides = dict[str, Any] | None


def _options(options: dict) -> tuple[str | None, int, Overrides]:
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise UsageError(f"unknown option(s) {', '.join(unknown)} (known: {', '.join(OPTIONS)})")
    seed = options.get("seed", 0)
    if seed is None:
        seed = 0
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UsageError(f"seed must be a non-negative integer, got {seed!r}", key="seed")
    overrides = options.get("overrides")
    if overrides is not None and not (isinstance(overrides, dict)
                                      and all(isinstance(k, str) for k in overrides)):
        raise UsageError("overrides must map dotted keys to values", key="overrides")
    return options.get("config"), seed, overrides


def _aid(config: str | None, seed: int, overrides: Overrides) -> tuple[dict, str]:
    from imcsim.circuits.aid_study import run_aid_study

    params = ap.load_aid(config, overrides)
    doc = {"circuit": "aid", "config": params.source, **run_aid_study(params, seed)}
    return doc, _aid_text(doc, params, seed)


def _aid_text(doc: dict, params: ap.AidParams, seed: int) -> str:
    e, base, dist = doc["energy_breakdown_pj"], doc["energy_baseline"], doc["snr_gain_seeds"]

    def at(key: str) -> str:
        return "x".join(str(v) for v in doc[key])

    lines = [
        f"AID discharge-based SRAM multiplier ({params.dac.bits}x{params.weight_bits} bits, "
        f"{doc['trials']} Monte Carlo rows, seed {seed}, {params.device.law} law, "
        f"sigma_Vth {params.device.vth_sigma_v * 1e3:g} mV)",
        f"  SNR linear DAC   {doc['snr_db_linear']:7.2f} dB",
        f"  SNR root DAC     {doc['snr_db_root']:7.2f} dB",
        f"  SNR gain         {doc['snr_gain_db']:7.2f} dB   (seeds 0-{dist['seeds'] - 1}: "
        f"mean {dist['mean']:.2f}, std {dist['std']:.2f}, {dist['min']:.2f} .. "
        f"{dist['max']:.2f})",
        f"  worst-case error {doc['worst_error_sigma']:7.3f} sigma   (analog output, exact "
        f"Monte Carlo moments: worst systematic error over the pooled sigma, at "
        f"{at('worst_error_at')})",
        f"                   {doc['worst_error_sigma_product']:7.3f} sigma   (each output "
        f"over its own sigma, at {at('worst_error_product_at')}); linear DAC "
        f"{doc['worst_error_sigma_linear']:.2f} sigma",
        f"                   {doc['worst_error_sigma_codes']:7.3f} sigma   (on this run's "
        f"{params.adc.bits}-bit codes: adds quantization and {doc['trials']}-trial noise)",
        f"  energy           {doc['energy_pj']:7.3f} pJ per computation ({doc['energy_dac']} "
        f"DAC), {doc['energy_scope_pj']:.4f} pJ without the conversion",
        "    " + ", ".join(f"{k} {v:.4f}" for k, v in e.items()),
        f"  baseline         {base['energy_pj']:7.3f} pJ ({base['dac']} DAC), "
        f"{base['energy_scope_pj']:.4f} pJ without the conversion: the design saves "
        f"{doc['energy_saving_vs_baseline']:+.1%} ({doc['energy_saving_vs_baseline_scope']:+.1%}"
        " without the conversion)",
    ]
    for name, label in (("vth_sigma_v", "sigma_Vth (V)"), ("alpha", "device law alpha")):
        for i, pt in enumerate(doc["sensitivity"].get(name, [])):
            head = f"  {label:16}" if i == 0 else " " * 18
            lines.append(f"{head} {pt['value']:<6g} SNR gain {pt['snr_gain_db']:6.2f} dB "
                         f"(mean of {params.study.sensitivity_seeds} seeds), worst-case "
                         f"{pt['worst_error_sigma']:.3f} / {pt['worst_error_sigma_product']:.3f}"
                         " sigma")
    return "\n".join(lines)


def _adc(config: str | None, seed: int, overrides: Overrides) -> tuple[dict, str]:
    from imcsim.circuits.adc import Adc, ramp_test
    from imcsim.circuits.converter_fom import energy_per_step_fj

    study = ap.load_adc_study(config, overrides)
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
            "energy_pj": adc.energy_pj,
            "energy_fj_per_step": energy_per_step_fj(adc.energy_pj, adc.enob),
            "energy_basis": _energy_basis(params), "area_um2": adc.area_um2,
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
             f"{'fJ/step':>8} {'area um2':>9} {'|INL| LSB':>9} {'|DNL| LSB':>9} "
             f"{'missing':>7}  energy from"]
    for r in rows:
        lines.append(f"  {r['kind']:6} {r['bits']:>4} {r['adc_cycles']:>8} {r['global_cycles']:>8} "
                     f"{r['energy_pj']:>10.4f} {r['energy_fj_per_step']:>8.1f} "
                     f"{r['area_um2']:>9.1f} {r['max_inl_lsb']:>9.3f} "
                     f"{r['max_dnl_lsb']:>9.3f} {r['missing_codes']:>7}  {r['energy_basis']}")
    return doc, "\n".join(lines)


def _energy_basis(params: ap.AdcParams) -> str:
    """Where an ADC's conversion energy comes from, in words."""
    fom = params.fom
    if fom is None:
        return "component energies"
    law = (f"Walden {fom.walden_fj_per_step:g} fJ/step" if fom.walden_fj_per_step is not None
           else f"Schreier {fom.schreier_db:g} dB")
    return f"{law} ({Path(fom.source).name if fom.source else 'inline'})"


DISTRIBUTION_SEEDS = 30  # NL-ADC columns programmed for the error distribution


def _with_sigma(params: Any, sigma_us: float) -> Any:
    """The NL-ADC parameters with another programming noise."""
    import dataclasses

    return dataclasses.replace(params, device=dataclasses.replace(
        params.device, programming_sigma_us=sigma_us))


def _nl_adc(config: str | None, seed: int, overrides: Overrides) -> tuple[dict, str]:
    from imcsim.circuits.nl_adc import error_distribution, run_nl_adc

    params = ap.load_nl_adc(config, overrides)
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
    config, seed, overrides = _options(options)
    return KINDS[kind](config, seed, overrides)
