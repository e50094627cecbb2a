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
class LayerShape:
    fan_in: int
    cout: int
    pixels: int
    groups: int
    density: float  # nonzero fraction of the weights


def estimate(shape: LayerShape, geo: Geometry, tiling: Tiling, ops: SubarrayOpCosts,
             move: MoveCosts) -> Estimate:
    """Makespan (busiest item vs per-bank bus traffic) and dynamic energy of a tiling."""
    split, tiles = tiling.split, tiling.tiles
    n, a = geo.acc_bits, geo.activation_bits
    lanes = shape.pixels / tiles
    part = math.ceil(shape.fan_in / split)
    segments = tiles * shape.groups * split
    units = tiles * split * shape.cout
    items = min(tiling.items, units)
    pieces = segments + items - 1
    per_piece = units / pieces
    rounds = 1 if geo.stationary(part) else math.ceil(
        per_piece / geo.max_streaming_accumulators())
    load_rows = pieces * rounds * part * a
    adds = units * part * (shape.density if geo.sparse else 1.0)
    sharing = min(max(1.0, items / segments), geo.per_bank) if geo.broadcast else 1.0
    main = _Work(items, load_rows, units * n, adds, units * n, load_rows / sharing,
                 part * (shape.density if geo.sparse else 1.0))
    phases = [main]
    if split > 1:
        outputs = tiles * shape.cout
        red = min(outputs, geo.subarrays)
        phases.append(_Work(red, outputs * split * n, 0, outputs * (split - 1), outputs * n,
                            outputs * split * n, split - 1))
    cycles = energy = 0.0
    for w in phases:
        total = (w.load_rows * ops.load_row.cycles + w.reset_rows * ops.reset_row.cycles
                 + w.adds * ops.add.cycles + w.readout_rows * ops.readout_row.cycles)
        busiest = total / w.items + w.unit_adds * ops.add.cycles  # + one unit of granularity
        bus = (w.bus_in_rows + w.readout_rows) * lanes / move.bus_bits_per_cycle / move.banks
        cycles += max(busiest, bus)
        per_lane = (w.load_rows * ops.load_row.energy_total_pj
                    + w.reset_rows * ops.reset_row.energy_total_pj
                    + w.adds * ops.add.energy_total_pj
                    + w.readout_rows * ops.readout_row.energy_total_pj
                    + w.bus_in_rows * move.pj_per_bit_in
                    + w.readout_rows * move.pj_per_bit_out)
        energy += per_lane * lanes
    return Estimate(cycles, energy)


@dataclass(frozen=True)
class _Work:
    """Totals of one phase (rows and adds summed over its items)."""

    items: int
    load_rows: float
    reset_rows: float
    adds: float
    readout_rows: float
    bus_in_rows: float
    unit_adds: float  # adds of one unit (the granularity of the cut)
