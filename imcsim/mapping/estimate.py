"""Closed-form time and energy estimates of a tiling, used by mapping searches to rank
candidates.

They use the layer's mean weight density instead of per-channel counts (so a search over
many tilings never re-reads the weights); the chosen tiling is then costed exactly by
`tiling.layer_items` and timed by the engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from imcsim.circuits.costs import SubarrayOpCosts
from imcsim.mapping.tiling import Geometry, Tiling


@dataclass(frozen=True)
class MoveCosts:
    """Per-bit costs of moving data between the buffer and subarrays (pJ), and bus width."""

    bus_bits_per_cycle: float
    banks: int
    pj_per_bit_in: float  # buffer read + bus
    pj_per_bit_out: float  # bus + buffer write


@dataclass(frozen=True)
class Estimate:
    cycles: float
    energy_pj: float


@dataclass(frozen=True)
class _Phase:
    items: float
    load_rows: float
    reset_rows: float
    adds: float
    readout_rows: float
    bus_in_rows: float  # rows sent over the bus per item (after broadcast sharing)


def estimate(fan_in: int, cout: int, tiles: int, density: float, geo: Geometry,
             tiling: Tiling, ops: SubarrayOpCosts, move: MoveCosts) -> Estimate:
    """Makespan (waves of items vs per-bank bus traffic) and dynamic energy of a tiling."""
    split, group = tiling.split, tiling.group
    part = math.ceil(fan_in / split)
    n, a = geo.acc_bits, geo.activation_bits
    if geo.fit_accumulators(part) >= 1:
        load_rows = part * a
    else:
        load_rows = math.ceil(group / geo.max_streaming_accumulators()) * part * a
    groups = math.ceil(cout / group)
    sharing = min(groups, geo.per_bank) if geo.broadcast else 1
    adds = part * group * (density if geo.sparse else 1.0)
    phases = [_Phase(tiles * split * groups, load_rows, group * n, adds, group * n,
                     load_rows / sharing)]
    if split > 1:
        red_items = tiles * max(1, min(cout, geo.subarrays // tiles))
        per = tiles * cout / red_items
        phases.append(_Phase(red_items, per * split * n, 0, per * (split - 1), per * n,
                             per * split * n))
    cycles = energy = 0.0
    for ph in phases:
        item = (ph.load_rows * ops.load_row.cycles + ph.reset_rows * ops.reset_row.cycles
                + ph.adds * ops.add.cycles + ph.readout_rows * ops.readout_row.cycles)
        waves = math.ceil(ph.items / geo.subarrays)
        bus = (ph.items * (ph.bus_in_rows + ph.readout_rows) * geo.columns
               / move.bus_bits_per_cycle / move.banks)
        cycles += max(waves * item, bus)
        per_col = (ph.load_rows * ops.load_row.energy_total_pj
                   + ph.reset_rows * ops.reset_row.energy_total_pj
                   + ph.adds * ops.add.energy_total_pj
                   + ph.readout_rows * ops.readout_row.energy_total_pj)
        moved = (ph.bus_in_rows * move.pj_per_bit_in + ph.readout_rows * move.pj_per_bit_out)
        energy += ph.items * geo.columns * (per_col + moved)
    return Estimate(cycles, energy)
