"""Costs of an analog crossbar design (ReRAM, PCM or AID 6T-SRAM tiles), and its plan.

Per layer: tiles and jobs from `mapping.crossbar`, the engine runs them (contention on the
shared bus, waves of reprogrammed tiles), energy = event counts x costs from the arch and
circuit YAMLs. All energies in pJ per event; P = output pixels, S = input steps.

  array (reram/pcm):  E = V_read^2 * a * sum_tiles t_read,tile * G_tile * P * S,
                      G_tile the summed conductance of the tile's driven rows from the real
                      weights (mapping.crossbar.tile_conductance_us), a = input_activity
                      (mean (V_row / V_read)^2), t_read the integration time; with the NL-ADC
                      the rows stay driven through the ramp: t_read = serial * 2^N / f_adc.
  array (aid_sram):   per computation (one word x one input code, circuits/aid.py):
                      E_precharge * popcount(word) / (N_b / 2) + E_wordline (word line and
                      DAC charged per computation, as the circuit model does).
  adc:                conversions * E_conv (circuits/adc.py: a figure of merit's F_W 2^ENOB,
                      or decisions * E_comp + steps * E_step + E_static); NL-ADC adds the ramp column, V^2 t_step sum_k R_k
                      per ramp sweep (R_k = cumulative ramp conductance, nl_adc.ramp_design),
                      and its N bias cells, V^2 (N G_max / 2) 2^N t_step per conversion.
  dac:                rows driven * S * P * E_dac (aid: E_dac per computation, the model's).
  shift_add:          (conversions + partial sums merged across row tiles) * E_add
                      (aid: the model's accumulate energy).
  activation:         outputs * E_act, unless the NL-ADC computes it (one read holds the
                      whole sum: one row tile, one slice, one input step, one conversion).
  buffers:            P * (fan_in * groups * input_bits * E_rd + out_channels * input_bits * E_wr)
                      (each pixel's receptive field read from the buffer, no line buffer).
  interconnect:       bus bits * E_bit: inputs broadcast to a row block's tiles, partial
                      sums (accumulator_bits) or outputs (input_bits) back.
  leakage:            (tiles * P_tile + P_buffer) * layer time.
  programming:        cells written * E_cell, when the network does not fit (otherwise a
                      one-off cost before inference, reported in the run's extra readings).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from imcsim.circuits.adc import Adc
from imcsim.designs.crossbar.mapping import (
    ArrayShape,
    LayerJobs,
    LayerTiles,
    ReadTiming,
    layer_copies,
    layer_jobs,
    resources,
    stored_weights,
    tile_conductance_us,
    tile_layer,
)
from imcsim.designs.crossbar.schema import CrossbarArch as Arch
from imcsim.designs.crossbar.technologies import array_technology
from imcsim.designs.protocol import LayerCosts, Plan, RunCosts
from imcsim.engine.types import EngineResult
from imcsim.errors import ConfigError
from imcsim.units import ceil_cycles_array, ns_to_cycles
from imcsim.workload.layer import ComputeLayer, Network

PJ = 1e-12
CATEGORIES = ("array", "adc", "dac", "shift_add", "activation", "buffers", "interconnect",
              "leakage", "programming")


@dataclass(frozen=True)
class AnalogCosts:
    """Per-event costs of one analog arch, derived from its (circuit) parameters."""

    shape: ArrayShape
    timing: ReadTiming
    adc: Adc
    read_ns: float  # integration time per read (0 with the NL-ADC: the ramp time counts)
    v_read_v: float  # 0 for aid_sram (its energies come per computation)
    g_range_us: tuple[float, float]
    e_dac_pj: float
    e_add_pj: float
    aid_pj: dict[str, float] | None  # energy per computation by component (AID)
    ramp_sweep_pj: float  # NL-ADC ramp column, per sweep
    bias_pj: float  # NL-ADC bias cells, per conversion

    @classmethod
    def from_arch(cls, arch: Arch) -> AnalogCosts:
        xb, f = arch.crossbar, arch.clock.frequency_hz
        tech = array_technology(xb.technology)
        adc_params = tech.adc_params(xb)
        # costs do not depend on the full scale or on the drawn static offsets
        adc = Adc(adc_params, np.random.default_rng(0), adc_params.full_scale_v or 1.0)
        conv = adc.global_cycles(f)
        ramp_pj = bias_pj = 0.0
        if xb.nl_adc is not None:
            ramp_pj, bias_pj = _nl_adc_pj(xb.nl_adc, adc_params.clock_hz)
        window = tech.read_window(xb)
        read_ns, v, g_range = window.read_ns, window.v_read_v, window.g_range_us
        aid_pj = tech.per_computation_pj(xb, adc)
        e_dac, e_add = tech.dac_energy_pj(xb), tech.shift_add_energy_pj(xb, aid_pj)
        timing = ReadTiming(read_cycles=ns_to_cycles(read_ns, f) if read_ns else 0,
                            conversion_cycles=conv, sample_and_hold=xb.sample_and_hold)
        return cls(ArrayShape.from_arch(arch), timing, adc, read_ns, v, g_range, e_dac, e_add,
                   aid_pj, ramp_pj, bias_pj)


def _nl_adc_pj(nl, adc_clock_hz: float) -> tuple[float, float]:
    """NL-ADC ramp column energy per sweep and bias cells' energy per conversion (pJ)."""
    from imcsim.circuits.nl_adc import Target, ramp_design

    g_ramp, _ = ramp_design(nl, Target(nl))
    t_step_ns = 1e9 / adc_clock_hz
    v2 = nl.v_read_v ** 2
    sweep = v2 * t_step_ns * float(np.cumsum(g_ramp).sum()) * 1e-3  # uS * V^2 * ns = 1e-3 pJ
    bias = v2 * (nl.bits * nl.device.g_max_us / 2) * 2 ** nl.bits * t_step_ns * 1e-3
    return sweep, bias


def _activation_in_adc(arch: Arch, tiles: LayerTiles, c: AnalogCosts) -> bool:
    return (arch.crossbar.nl_adc is not None and tiles.row_tiles == 1
            and c.shape.conv_per_out == 1 and c.shape.input_steps == 1)


def layer_energy_pj(arch: Arch, layer: ComputeLayer, tiles: LayerTiles, c: AnalogCosts
                    ) -> tuple[dict[str, float], dict[str, Any]]:
    """Energy by category (pJ, leakage and programming excluded) and the event counts."""
    xb, sh, p = arch.crossbar, c.shape, layer.out_pixels
    steps = sh.input_steps
    reads = p * steps * tiles.reads  # per tile
    conversions = float((reads * tiles.conversions).sum())
    sweeps = float((reads * tiles.serial).sum())
    rows_driven = float(p * steps * tiles.rows_used.sum())
    stored = stored_weights(layer, sh)
    e = dict.fromkeys(CATEGORIES, 0.0)
    if c.aid_pj is not None:
        e["array"] = (p * steps * stored.ones * c.aid_pj["precharge"] / (sh.slice_bits / 2)
                      + conversions * c.aid_pj["wordline"])
        e["dac"] = conversions * c.e_dac_pj
    else:
        g = tile_conductance_us(stored, tiles, sh, *c.g_range_us)
        t_ns = (tiles.serial * c.adc.cycles * 1e9 / c.adc.p.clock_hz
                if xb.nl_adc is not None else np.full(tiles.count, c.read_ns))
        assert xb.input_activity is not None  # required by check_crossbar
        e["array"] = float((g * t_ns).sum()) * p * steps * c.v_read_v ** 2 \
            * xb.input_activity * 1e-3
        e["dac"] = rows_driven * c.e_dac_pj
    e["adc"] = conversions * (c.adc.energy_pj + c.bias_pj) + sweeps * c.ramp_sweep_pj
    merges = float(p * layer.out_channels * (tiles.row_tiles - 1))
    e["shift_add"] = (conversions + merges) * c.e_add_pj
    in_adc = _activation_in_adc(arch, tiles, c)
    if not in_adc:
        e["activation"] = p * layer.out_channels * xb.periphery.activation_energy_pj
    buf = arch.buffer
    e["buffers"] = p * xb.input_bits * (layer.fan_in * layer.groups * buf.read_energy_pj_per_bit
                                        + layer.out_channels * buf.write_energy_pj_per_bit)
    bus_bits = float(p * bus_bits_per_pixel(arch, tiles).sum())
    e["interconnect"] = bus_bits * arch.bus.energy_pj_per_bit
    counts = {"adc_conversions": int(conversions), "reads": int(reads.sum()),
              "bus_bits": bus_bits, "activation_in_adc": in_adc}
    return e, counts


def bus_bits_per_pixel(arch: Arch, tiles: LayerTiles) -> np.ndarray:
    """Per tile: its share of the broadcast inputs plus the results it sends back."""
    xb = arch.crossbar
    out_bits = xb.accumulator_bits if tiles.row_tiles > 1 else xb.input_bits
    return tiles.rows_used * xb.input_bits / tiles.col_tiles + tiles.channels * out_bits


def program_cycles_energy(arch: Arch, tiles: LayerTiles, shape: ArrayShape
                          ) -> tuple[np.ndarray, float]:
    """Per tile: cycles to write its used rows; energy (pJ) to write all its used cells."""
    pr, f = arch.crossbar.programming, arch.clock.frequency_hz
    cyc = ceil_cycles_array(tiles.rows_used * pr.row_write_ns * 1e-9 * f)
    cells = float((tiles.rows_used * tiles.channels).sum() * shape.cols_per_out)
    return cyc, cells * pr.energy_pj_per_cell


def area_breakdown_mm2(arch: Arch, c: AnalogCosts) -> dict[str, float]:
    """Cells (+ NL-ADC ramp and bias cells), ADCs, row DACs, tile periphery, buffer."""
    xb, sh = arch.crossbar, c.shape
    cells = xb.rows * xb.cols
    if xb.nl_adc is not None:  # one ramp column per tile, N bias cells per ADC
        cells += 2 ** xb.nl_adc.bits + sh.n_adc * xb.nl_adc.bits
    um2 = 1e-6
    return {"array": xb.tiles * cells * xb.cell_area_um2 * um2,
            "adc": xb.tiles * sh.n_adc * c.adc.area_um2 * um2,
            "dac": xb.tiles * xb.rows * xb.dac.area_um2 * um2,
            "periphery": xb.tiles * xb.periphery.area_um2_per_tile * um2,
            "buffers": arch.buffer.area_mm2}


def plan_network(arch: Arch, net: Network) -> Plan:
    """Place `net` on the tiles as engine jobs; cost every layer once timed."""
    xb, f = arch.crossbar, arch.clock.frequency_hz
    c = AnalogCosts.from_arch(arch)
    sh = c.shape
    if sh.channels_per_tile < 1:
        raise ConfigError(f"one output channel needs {sh.cols_per_out} columns (slices x cells "
                          "x sides), more than cols", source=arch.source, key="crossbar.cols")
    tiles = [tile_layer(layer, sh) for layer in net.layers]
    needed = sum(t.count for t in tiles)
    fits = needed <= xb.tiles
    if xb.placement == "resident" and not fits:
        raise ConfigError(f"{net.name} needs {needed} tiles to stay resident; the chip has "
                          f"{xb.tiles} (use placement auto or reload)", source=arch.source,
                          key="crossbar.placement")
    resident = fits and xb.placement != "reload"
    copies = layer_copies(tiles, [la.out_pixels for la in net.layers], c.timing, sh,
                          resident, xb.replicate)
    jobs: list[LayerJobs] = []
    programming = []  # per layer: (per-tile cycles, energy pJ) of one copy
    first = 0
    for idx, (layer, t) in enumerate(zip(net.layers, tiles, strict=True)):
        prog = program_cycles_energy(arch, t, sh)
        programming.append(prog)
        jobs.append(layer_jobs(idx, layer.name, t, c.timing, sh, layer.out_pixels, copies[idx],
                               first, None if resident else prog[0], bus_bits_per_pixel(arch, t),
                               arch.bus.bits_per_cycle))
        first += t.count * copies[idx]

    def run_costs(layer_cycles: np.ndarray, engine: EngineResult) -> RunCosts:
        static_w = xb.tiles * xb.periphery.leakage_w_per_tile + arch.buffer.leakage_w
        layers = []
        energy_pj = 0.0
        for idx, (layer, t, j) in enumerate(zip(net.layers, tiles, jobs, strict=True)):
            cyc = int(layer_cycles[idx])
            energy, details = layer_energy_pj(arch, layer, t, c)
            energy["leakage"] = static_w * cyc / f / PJ
            if not resident:
                energy["programming"] = programming[idx][1] * copies[idx]
            energy_pj += sum(energy.values())
            details.update({
                "mapping": {"copies": copies[idx], "tiles": t.count,
                            "jobs": len(j.compute_cycles)},
                "tiles_used": j.tiles_used, "reprogrammed": not resident,
                "input_steps": sh.input_steps, "weight_slices": sh.slices,
                "read_cycles": c.timing.read_cycles,
                "adc_cycles_per_read": int(c.timing.adc_cycles(t.serial).max()),
                "cell_utilisation": float((t.rows_used * t.channels).sum() * sh.cols_per_out
                                          / (t.count * xb.rows * xb.cols))})
            layers.append(LayerCosts({k: v * PJ for k, v in energy.items()}, details))
        macs = net.total_macs
        one_off = (sum(e * k for (_, e), k in zip(programming, copies, strict=True)),
                   _one_off_cycles(programming, copies)) if resident else (0.0, 0)
        details = {
            "total_pj_per_mac": energy_pj / macs if macs else 0.0,
            "fits_on_chip": fits, "resident": resident, "tiles_needed": needed,
            "programming_one_off_j": one_off[0] * PJ, "programming_one_off_s": one_off[1] / f,
            "clock": _clock_note(c, xb.nl_adc is not None),
        }
        return RunCosts(layers, area_breakdown_mm2(arch, c), details)

    return Plan(resources(xb.tiles, xb.cols), [j.phase for j in jobs], run_costs)


def _clock_note(c: AnalogCosts, nl: bool) -> str:
    adc = (f"ADC {c.adc.p.kind} {c.adc.bits} bit at {c.adc.p.clock_hz / 1e9:g} GHz: "
           f"{c.adc.cycles} ADC cycles -> {c.timing.conversion_cycles} global cycles per "
           "conversion (ceiling)")
    if nl:
        return adc + "; rows driven through the ramp"
    return adc + f"; read {c.read_ns:g} ns -> {c.timing.read_cycles} global cycles (ceiling)"


def _one_off_cycles(programming: list[tuple[np.ndarray, float]], copies: list[int]) -> int:
    """Programming all resident tiles before inference: tiles in parallel, rows in turn."""
    per_tile = np.concatenate([np.tile(cyc, k) for (cyc, _), k in zip(programming, copies,
                                                                        strict=True)])
    return int(per_tile.max()) if per_tile.size else 0
