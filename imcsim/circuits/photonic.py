"""Photonic tensor cores (MZI mesh, microring weight bank): per-layer cycles and energy.

A core holds an R x C weight tile (set by phase shifters) and multiplies it by one input
vector per symbol (L vectors per symbol in a WDM MZI mesh). A layer (groups x M x N
weights, P output pixels) is tiled weight-stationary::

    tiles        = groups * ceil(M / R) * ceil(N / C)
    symbols/tile = ceil(P / vectors_per_symbol) * K                (K: dynamic precision)
    cycles/tile  = ceil(t_settle * f_clk) + ceil(symbols / f_mod * f_clk)
    cycles       = tiles * cycles/tile                            (one core, in turn)

The core runs in its own clock domain (f_mod, the symbol rate); each tile's durations
are converted to global cycles with a ceiling (`costs.ns_to_cycles`), so a layer costs
at least one global cycle per tile and phase. The laser is on while a tile computes and
gated during reprogramming; the phase shifters hold their weights throughout.

Energy (pJ) by component; "channel-symbols" count used inputs only (edge tiles are
partly empty), readings count used outputs::

    laser          = (P_laser + P_LO),electrical * t_compute     (photonic_sizing, mW x ns)
    modulators     = e_mod [fJ/bit] * input_bits * groups ceil(M/R) N P K
    dac            = e_dac * (groups ceil(M/R) N P K + tiles * shifters)   (inputs + weights)
    adc            = e_adc * groups ceil(N/C) M P K
    detectors_tia  = e_det * groups ceil(N/C) M P K
    weight_tuning  = tiles * shifters * (e_switch + P_hold * (t_settle + t_compute))
    memory         = e_dram * weight bits  +  e_sram * (input reads per row tile
                     + partial-sum writes per column tile + their read-backs)

    optical aJ/MAC = (P_laser + P_LO),optical * t_compute / MACs,  total pJ/MAC = sum / MACs
    detector aJ/MAC = P_ch * T_symbol * K  (the light reaching the detectors per MAC)

The laser power of each product (the layer's, and each MLG generation product's) comes
from `photonic_sizing.light`: by the noise model for the effective bits the layer needs
(``laser.sizing: noise``) or by the receiver-sensitivity rule; a homodyne receiver adds
its local oscillators (P_LO). A product whose laser exceeds ``laser.max_optical_power_mw``
is refused naming the layer.

MACs are the layer's own (out_pixels * out_channels * fan_in), so K repeats and MLG
regeneration show up as a higher energy per MAC. With MLG (`photonic_mlg`) the weights
are regenerated on the core from stored bases and coefficients: DRAM traffic is the
stored parameters at `mlg.param_bits`, the generation products are extra jobs (K = 1)
and the generated weights pass through SRAM.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from imcsim.circuits.photonic_link import (
    LinkBudget,
    link_budget,
    phase_shifters,
    vectors_per_symbol,
)
from imcsim.circuits.photonic_mlg import (
    MatmulShape,
    MlgPlan,
    WeightLayer,
    generate_weights,
    plan_mlg,
    random_factors,
)
from imcsim.circuits.photonic_noise import (
    check_repeats,
    noisy_matvec,
    shot_limited_aj_per_mac,
)
from imcsim.circuits.photonic_params import MlgRanks, PhotonicParams, validate_photonic
from imcsim.circuits.photonic_sizing import (
    Light,
    achieved_bits,
    build_photonic,
    check_budget,
    enob,
    full_scale_sigma,
    light,
    load_photonic_params,
    precision_terms,
    repeats_for_bits,
    unit_current,
)
from imcsim.errors import ConfigError
from imcsim.units import ns_to_cycles

__all__ = [
    "CATEGORIES", "MatmulShape", "MlgPlan", "MlgRanks", "PhotonicCore", "PhotonicParams",
    "build_photonic", "enob", "full_scale_sigma", "generate_weights",
    "layer_cost", "light", "link_budget", "load_photonic_core", "load_photonic_params",
    "noisy_matvec", "plan_mlg", "random_factors", "repeats_for_bits",
    "shot_limited_aj_per_mac", "unit_current", "validate_photonic",
]

CATEGORIES = ("laser", "modulators", "dac", "adc", "detectors_tia", "weight_tuning", "memory")


@dataclass(frozen=True)
class PhotonicCore:
    """Validated parameters, the global clock and what follows from them (computed once)."""

    params: PhotonicParams
    clock_hz: float
    link: LinkBudget
    shifters: int

    @classmethod
    def from_params(cls, params: PhotonicParams, clock_hz: float) -> PhotonicCore:
        if isinstance(clock_hz, bool) or not isinstance(clock_hz, (int, float)) \
                or not clock_hz > 0 or not math.isfinite(clock_hz):
            raise ConfigError(f"must be a finite number > 0, got {clock_hz!r}",
                              source=params.source or None, key="clock.frequency_hz")
        return cls(params, float(clock_hz), link_budget(params), phase_shifters(params))

    @property
    def modulator_fj_per_bit(self) -> float:
        e = self.params.energy
        mzi = self.params.core.kind == "mzi_mesh"
        return e.modulator_mzi_fj_per_bit if mzi else e.modulator_ring_fj_per_bit

    @property
    def clock_note(self) -> str:
        return (f"photonic core symbols at {self.params.core.modulation_ghz:g} GHz; per-tile "
                f"durations converted to global cycles at {self.clock_hz / 1e9:g} GHz with "
                f"ceil")


def load_photonic_core(path: str | Path, *, clock_hz: float,
                       key: str = "photonic") -> PhotonicCore:
    """Read and validate section `key` of `path`; `clock_hz` is the arch's global clock."""
    return PhotonicCore.from_params(load_photonic_params(path, key), clock_hz)


def _job(core: PhotonicCore, s: MatmulShape, k: int, kind: str, lit: Light, *,
         dram_weight_bits: int, sram_weight_bits: int) -> dict:
    """Cycles and energy of one matrix product on the core (see module docstring)."""
    p = core.params
    c = p.core
    row_tiles, col_tiles = math.ceil(s.m / c.rows), math.ceil(s.n / c.cols)
    tiles = s.groups * row_tiles * col_tiles
    symbols = math.ceil(s.vectors / vectors_per_symbol(p)) * k
    compute_ns = symbols / c.modulation_ghz
    compute_cyc = ns_to_cycles(compute_ns, core.clock_hz)
    program_cyc = ns_to_cycles(p.phase_shifter.settle_ns, core.clock_hz)
    on_ns = tiles * compute_ns
    channel_symbols = s.groups * row_tiles * s.n * s.vectors * k
    readings = s.groups * col_tiles * s.m * s.vectors * k
    weights = s.groups * s.m * s.n
    e = p.energy
    ps = p.phase_shifter
    sram_bits = (weights * sram_weight_bits
                 + s.groups * row_tiles * s.n * s.vectors * c.input_bits
                 + s.groups * (2 * col_tiles - 1) * s.m * s.vectors * c.output_bits)
    energy = {
        "laser": (lit.laser_electrical_mw + lit.lo_electrical_mw) * on_ns,  # mW x ns = pJ
        "modulators": core.modulator_fj_per_bit * c.input_bits * channel_symbols * 1e-3,
        "dac": e.dac_pj_per_sample * (channel_symbols + tiles * core.shifters),
        "adc": e.adc_pj_per_sample * readings,
        "detectors_tia": e.detector_tia_pj_per_sample * readings,
        "weight_tuning": tiles * core.shifters * (ps.switch_pj + ps.hold_mw * (
            ps.settle_ns + compute_ns)),
        "memory": e.dram_pj_per_bit * weights * dram_weight_bits + e.sram_pj_per_bit * sram_bits,
    }
    return {
        "kind": kind, "tiles": tiles, "reprogram_cycles_per_tile": program_cyc,
        "compute_cycles_per_tile": compute_cyc, "cycles": tiles * (program_cyc + compute_cyc),
        "macs": s.macs, "weights": weights, "repeats": k, "energy_pj": energy,
        "optical_pj": (lit.laser_optical_mw + lit.lo_optical_mw) * on_ns,
        "lo_pj": lit.lo_optical_mw * on_ns,
        "detector_pj": lit.detector_mw_per_channel * s.macs * k / c.modulation_ghz,
    }


def layer_cost(layer: WeightLayer, core: PhotonicCore, repeats: int | None = None, *,
               mlg: MlgRanks | None = None) -> dict:
    """Cycles (global) and energy of `layer` on one core.

    repeats: K for this layer (None: ``precision.per_layer`` or ``default_repeats``).
    mlg: ranks for this layer (None: from the ``mlg`` section; MlgRanks() turns it off).
    Returns plain numbers: cycles, time_s, energy_pj by CATEGORIES, energy_total_pj,
    optical_aj_per_mac, laser_aj_per_mac, total_pj_per_mac, enob, noise_sigma_fs, the
    engine jobs (generation products first, then the layer's MVM) and the MLG summary.
    """
    p = core.params
    k = p.repeats(layer.name) if repeats is None else check_repeats(repeats)
    ranks = p.mlg.ranks(layer.name) if mlg is None else mlg
    plan = plan_mlg(layer, ranks.base_in, ranks.base_out) if ranks is not None else None
    if plan is not None and not plan.active:
        plan = None  # an inactive plan is the same as no MLG
    main = MatmulShape(layer.out_channels // layer.groups, layer.fan_in, layer.out_pixels,
                       layer.groups)
    def lit(s: MatmulShape, reps: int, key: str | None = None) -> Light:
        out = light(p, core.link, s.n, reps, layer=layer.name, key=key)
        check_budget(p, out, core.link, f"layer {layer.name}, fan-in {s.n}")
        return out

    jobs = []
    main_light = lit(main, k)
    if plan is not None:
        for i, g in enumerate(plan.generation_jobs()):
            jobs.append(_job(core, g, 1, f"mlg_level{i + 1 if plan.level1 else 2}",
                             lit(g, 1, key=f"mlg.per_layer.{layer.name}"),
                             dram_weight_bits=0, sram_weight_bits=0))
        jobs.append(_job(core, main, k, "mvm", main_light, dram_weight_bits=0,
                         sram_weight_bits=p.core.weight_bits))
    else:
        jobs.append(_job(core, main, k, "mvm", main_light, dram_weight_bits=layer.weight_bits,
                         sram_weight_bits=0))
    energy = {cat: sum(j["energy_pj"][cat] for j in jobs) for cat in CATEGORIES}
    mlg_info = None
    if plan is not None:
        stored_bits = plan.stored_params * p.mlg.param_bits
        energy["memory"] += p.energy.dram_pj_per_bit * stored_bits
        base_bits = layer.weight_count * layer.weight_bits
        gen = jobs[:-1]
        mlg_info = {
            "base_in": plan.base_in, "base_out": plan.base_out,
            "levels": [n for n, on in (("level1", plan.level1), ("level2", plan.level2)) if on],
            "weight_params": plan.weight_params, "stored_params": plan.stored_params,
            "compression_ratio": plan.compression_ratio,
            "dram_bits_saved": base_bits - stored_bits,
            "dram_pj_saved": p.energy.dram_pj_per_bit * (base_bits - stored_bits),
            "generation_macs": plan.generation_macs,
            "generation_cycles": sum(j["cycles"] for j in gen),
            "generation_energy_pj": sum(sum(j["energy_pj"].values()) for j in gen),
        }
    macs = layer.macs
    total = sum(energy.values())
    optical = sum(j["optical_pj"] for j in jobs)
    cycles = sum(j["cycles"] for j in jobs)
    i1 = main_light.unit_current_a
    terms = precision_terms(p, layer.fan_in, i1)
    var = sum(terms.values())
    return {
        "layer": layer.name, "core": p.core.kind, "macs": macs, "repeats": k,
        "tiles": jobs[-1]["tiles"], "cycles": cycles, "time_s": cycles / core.clock_hz,
        "clock": core.clock_note,
        "energy_pj": energy, "energy_total_pj": total,
        "optical_aj_per_mac": optical / macs * 1e6,
        "lo_aj_per_mac": sum(j["lo_pj"] for j in jobs) / macs * 1e6,
        "detector_aj_per_mac": sum(j["detector_pj"] for j in jobs) / macs * 1e6,
        "laser_aj_per_mac": energy["laser"] / macs * 1e6,
        "total_pj_per_mac": total / macs,
        "laser_sizing": main_light.rule, "bits_required": main_light.bits,
        "bits_of": p.precision.bits_of,
        "enob": enob(p, layer.fan_in, k, i1),
        "enob_reference": achieved_bits(p, layer.fan_in, k, i1),
        "noise_sigma_fs": full_scale_sigma(p, layer.fan_in, k, i1),
        "noise_shares": {name: v / var if var else 0.0 for name, v in terms.items()},
        "detector_uw_per_channel": main_light.detector_mw_per_channel * 1e3,
        "laser_mw_per_laser": main_light.laser_optical_mw_per_laser,
        "jobs": [{key: j[key] for key in ("kind", "tiles", "reprogram_cycles_per_tile",
                                           "compute_cycles_per_tile", "cycles", "macs",
                                           "weights", "repeats", "energy_pj")}
                 for j in jobs],
        "mlg": mlg_info,
    }
