"""Every number of benchmarks/photonic_energy_note.md: the photonic core's light per MAC
under the receiver-sensitivity rule, the noise-sized laser and a balanced homodyne
receiver, on ResNet-18 and ResNet-50; what limits the link; digits accuracy; the gap to
Garg et al.'s 2.7 aJ/MAC factor by factor. Run: python benchmarks/photonic_energy.py
(about a minute: the accuracy runs take most of it; --no-accuracy skips them).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

import imcsim
from imcsim.accuracy import evaluate
from imcsim.arch import load_arch
from imcsim.circuits.photonic import PhotonicCore, layer_cost
from imcsim.circuits.photonic_noise import photon_energy_j, quantum_efficiency
from imcsim.circuits.photonic_sizing import precision_terms, unit_current
from imcsim.designs.photonic.reference import HOMODYNE, figures
from imcsim.validate import reference_designs
from imcsim.workload import load_network

ROOT = Path(__file__).resolve().parents[1]
# Garg et al.'s homodyne ResNet-50 figure, from the reference data (no model reads it)
PUBLISHED = next(float(r["published"]) for r in reference_designs()["photonic"]["reported"]
                 if r["key"] == "homodyne.optical_aj_per_mac")
CONFIG = ROOT / "arch_configs" / "photonic.yaml"
DIGITS = ROOT / "workloads" / "digits"
SENS = {"photonic.laser.sizing": "sensitivity"}
MEMS = {"photonic.phase_shifter.kind": "mems", "photonic.phase_shifter.settle_ns": 1000.0,
        "photonic.phase_shifter.hold_mw": 0.0, "photonic.phase_shifter.switch_pj": 1.0}


def core_of(overrides: dict[str, Any]) -> PhotonicCore:
    arch = load_arch(CONFIG, overrides)
    return PhotonicCore.from_params(arch.photonic, arch.clock.frequency_hz)


def link_and_limits() -> None:
    for label, ov in (("sensitivity rule", SENS), ("noise-sized", {})):
        core = core_of(ov)
        p = core.params
        c = p.core.cols
        i1 = unit_current(p, c)
        terms = precision_terms(p, c, i1)
        var = sum(terms.values())
        shares = ", ".join(f"{k} {v / var:.1%}" for k, v in terms.items())
        enob = np.log2(2 * c / np.sqrt(12 * var))
        print(f"{label}: I_1 {i1 * 1e6:.2f} uA per channel at the detector "
              f"({i1 / p.detector.responsivity_a_per_w * 1e6:.2f} uW), one 16-input "
              f"detection at full scale: {shares}; ENOB {enob:.2f}; shot alone "
              f"{np.log2(2 * c / np.sqrt(12 * terms['shot'])):.2f} bits; thermal / shot "
              f"{terms['thermal'] / terms['shot']:.4f}")
    core = core_of({})
    print("link budget (microring 16x16):",
          {k: round(v, 2) for k, v in core.link.terms_db.items()},
          f"total {core.link.total_db:.2f} dB")
    p = core.params
    photon_aj = photon_energy_j(p) * 1e18
    s_t = 10 ** (p.detector.sensitivity_dbm / 10) * 1e-3 / (p.core.modulation_ghz * 1e9) * 1e18
    print(f"sensitivity x symbol time: {s_t:.1f} aJ = {s_t / photon_aj:.0f} photons "
          f"(photon {photon_aj:.3f} aJ, quantum efficiency {quantum_efficiency(p):.3f})")
    loss = 10 ** (core.link.total_db / 10)
    print(f"old rule: {s_t:.1f} aJ x 2^{p.core.output_bits} x {loss:.1f} / {p.core.rows} = "
          f"{s_t * 2 ** p.core.output_bits * loss / p.core.rows:.4g} aJ/MAC (a full tile)")


def networks() -> dict[str, Any]:
    figs = figures(load_arch(CONFIG), published={"resnet50": PUBLISHED})
    for net, row in figs.items():
        for variant, f in row.items():
            if isinstance(f, dict):
                print(f"{net} {variant:20s} optical {f['optical_aj_per_mac']:10.4g}  LO "
                      f"{f['lo_aj_per_mac']:8.4g}  signal {f['signal_aj_per_mac']:10.4g}  "
                      f"at detectors {f['detector_aj_per_mac']:9.4g} aJ/MAC  ENOB "
                      f"{f['enob_reference_min']:.2f}-{f['enob_reference_max']:.2f}")
        old, new = row["sensitivity"], row["noise"]
        print(f"{net}: sensitivity / noise-sized = "
              f"{old['optical_aj_per_mac'] / new['optical_aj_per_mac']:.1f}x")
    return figs


def gap(figs: dict[str, Any]) -> None:
    row, pub = figs["resnet50"], PUBLISHED
    h, h8 = row["homodyne"], row["homodyne_output_8b"]
    steps = [("homodyne, all light", h["optical_aj_per_mac"]),
             ("- local oscillators (detector.lo_power_mw)", h["signal_aj_per_mac"]),
             ("- link loss (losses.*, splitters)", h["detector_aj_per_mac"]),
             ("output-referred ENOB (precision.bits_of: output)", h8["detector_aj_per_mac"])]
    print(f"gap to the published {pub} aJ/MAC (ResNet-50):")
    prev = None
    for label, v in steps:
        factor = f"  (/{prev / v:.1f})" if prev else ""
        print(f"  {label:50s} {v:10.4g} aJ/MAC{factor}  = {v / pub:.3g}x published")
        prev = v
    bits = row["bits_matching_published"]
    print(f"  uniform bits giving {pub} aJ/MAC: {bits} (8 -> {bits}: /"
          f"{h8['detector_aj_per_mac'] / pub:.1f}; Garg et al.'s learned per-layer precision "
          f"saves up to 89 %, /{1 / 0.11:.1f})")
    for b in (6, 7):
        print(f"  output-referred {b} bits at the detectors: "
              f"{row[f'homodyne_output_{b}b']['detector_aj_per_mac']:.3g} aJ/MAC")
    hl = load_arch(CONFIG, {f"photonic.{k}": v for k, v in HOMODYNE.items()}).photonic
    print(f"  LO per MAC = P_LO / (f_mod C) = {hl.detector.lo_power_mw:g} mW / "
          f"({hl.core.modulation_ghz:g} GHz x {hl.core.cols}) = "
          f"{hl.detector.lo_power_mw * 1e-3 / (hl.core.modulation_ghz * 1e9 * hl.core.cols) * 1e18:.4g} aJ")


def totals() -> None:
    net = load_network("resnet18")
    for label, ov in (("sensitivity, thermal shifters", SENS), ("noise, thermal shifters", {}),
                      ("sensitivity, MEMS", {**SENS, **MEMS}), ("noise, MEMS", MEMS)):
        t = imcsim.run(load_arch(CONFIG, ov), net).to_dict()["total"]
        e = t["energy_breakdown_j"]
        share = {k: f"{v / t['energy_j']:.1%}" for k, v in e.items()}
        print(f"resnet18 {label}: {t['details']['total_pj_per_mac']:.4g} pJ/MAC, "
              f"{t['time_s'] * 1e3:.1f} ms, shares {share}")


def accuracy() -> None:
    variants = {"sensitivity": SENS, "noise 8 b": {}, "noise 6 b": {"photonic.precision.bits": 6},
                "noise output-referred 8 b": {"photonic.precision.bits_of": "output"}}
    for net in ("digits_cnn_twn", "digits_cnn_sparse", "digits_resnet20"):
        path = str(DIGITS / f"{net}.yaml")
        for label, ov in variants.items():
            runs = [evaluate(load_arch(CONFIG, ov), path, seed=s) for s in range(3)]
            sims = [r["simulated"] for r in runs]
            print(f"{net} {label:26s} exact {runs[0]['reference']:.4f}  seeds 0-2 "
                  f"{', '.join(f'{a:.4f}' for a in sims)}  mean {np.mean(sims):.4f}")


def main() -> None:
    link_and_limits()
    print()
    figs = networks()
    print()
    gap(figs)
    print()
    totals()
    for layer in load_network("resnet18").layers[:1]:
        c = layer_cost(layer, core_of({}))
        print(f"conv1 (fan-in {layer.fan_in}): ENOB of the output {c['enob']:.2f}, of a "
              f"detection {c['enob_reference']:.2f}, noise shares {c['noise_shares']}")
    if "--no-accuracy" not in sys.argv:
        print()
        accuracy()


if __name__ == "__main__":
    main()
