"""Closed-form time and energy estimates of a tiling, used by mapping searches to rank
candidates.

They use the layer's mean weight density instead of per-channel counts (so a search over
many tilings never re-reads the weights); the chosen tiling is then costed exactly by
`layouts.layer_items` and timed by the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from imcsim.circuits.costs import SubarrayOpCosts
from imcsim.designs.bitserial.mapping.sparse_loads import expected_fraction
from imcsim.designs.bitserial.mapping.tiling import Geometry


@dataclass(frozen=True)
class MoveCosts:
    """Per-bit costs of moving data between the buffer and subarrays (pJ), and bus width."""

    bus_bits_per_cycle: float
    banks: int
    pj_per_bit_in: float  # buffer read + bus
    pj_per_bit_out: float  # bus + buffer write
    static_pj_per_cycle: float = 0.0  # leakage of the whole chip, per cycle


@dataclass(frozen=True)
class Estimate:
    cycles: np.ndarray
    energy_pj: np.ndarray


@dataclass(frozen=True)
class LayerShape:
    fan_in: int
    cout: int
    pixels: int
    groups: int
    density: float  # nonzero fraction of the weights


def estimate_many(shape: LayerShape, geo: Geometry, tiles: int, split: np.ndarray,
                  items: np.ndarray, ops: SubarrayOpCosts, move: MoveCosts
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Makespan (busiest item vs per-bank bus traffic) and energy (pJ: dynamic, plus the
    chip's leakage over that makespan, so that a slow tiling is not mistaken for a frugal
    one) of many candidate tilings at once: arrays of fan-in splits and item counts, one
    tile count."""
    split = np.asarray(split, dtype=np.float64)
    n, a = geo.acc_bits, geo.activation_bits
    lanes = shape.pixels / tiles
    density = shape.density if geo.sparse else 1.0
    part = np.ceil(shape.fan_in / split)
    segments = tiles * shape.groups * split
    units = tiles * split * shape.cout
    items = np.minimum(np.asarray(items, dtype=np.float64), units)
    pieces = segments + items - 1
    per_piece = units / pieces
    rounds = np.where(geo.stationary(part), 1.0,
                      np.ceil(per_piece / geo.max_streaming_accumulators()))
    load_rows = pieces * rounds * part * a
    if geo.sparse and geo.sparse_loads:
        load_rows = load_rows * expected_fraction(shape.density, per_piece / rounds)
    adds = units * part * density
    sharing = (np.minimum(np.maximum(1.0, items / segments), geo.per_bank)
               if geo.broadcast else 1.0)
    resets = units * n * (1.0 - density) ** part  # channels with nothing to add here
    # with cut channels every item boundary may fall inside a unit: no granularity, one
    # more partial sum per cut
    cuts = items - 1.0 if geo.cut else np.zeros_like(items)
    granule = np.zeros_like(part) if geo.cut else part * density
    main = _Work(items, load_rows, resets, adds, (units + cuts) * n, load_rows / sharing,
                 granule)
    cycles, energy = _phase_estimate(main, lanes, ops, move)
    outputs = tiles * shape.cout
    red_outputs = np.where(split > 1, outputs, np.minimum(cuts, outputs))
    partials = np.where(split > 1, split, 1.0) + cuts / np.maximum(red_outputs, 1.0)
    reduction = reduction_estimate(red_outputs, partials, lanes, geo, ops, move)
    return _with_reduction((cycles, energy), reduction, red_outputs > 0, move)


def _with_reduction(main: tuple[np.ndarray, np.ndarray],
                    reduction: tuple[np.ndarray, np.ndarray], has_reduction: np.ndarray,
                    move: MoveCosts) -> tuple[np.ndarray, np.ndarray]:
    """Main phase plus the reduction phase where there is one, then the chip's leakage
    over the whole (so that a slow tiling is not mistaken for a frugal one)."""
    cycles = main[0] + np.where(has_reduction, reduction[0], 0.0)
    energy = main[1] + np.where(has_reduction, reduction[1], 0.0)
    return cycles, energy + move.static_pj_per_cycle * cycles


def reduction_estimate(outputs: np.ndarray, partials: np.ndarray, lanes: np.ndarray | float,
                       geo: Geometry, ops: SubarrayOpCosts, move: MoveCosts
                       ) -> tuple[np.ndarray, np.ndarray]:
    """The reduction phase: `outputs` outputs of `partials` partial sums each, on `lanes`
    columns each, side by side as many as the columns hold (`tiling.reduction_items`)."""
    per_pass = np.floor(geo.columns / np.ceil(lanes))
    passes = np.ceil(outputs / per_pass)
    n = geo.acc_bits
    load_rows = passes * np.ceil(partials) * n
    work = _Work(np.clip(passes, 1, geo.subarrays), load_rows, np.zeros_like(passes),
                 load_rows / n - passes, passes * n, load_rows, np.ceil(partials) - 1)
    return _phase_estimate(work, lanes * outputs / np.maximum(passes, 1.0), ops, move)


def estimate_gather_many(shape: LayerShape, geo: Geometry, tiles: np.ndarray,
                         split: np.ndarray, per_pass: np.ndarray, items: np.ndarray,
                         ops: SubarrayOpCosts, move: MoveCosts
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Makespan and energy (pJ, leakage included) of gather layouts (`gather`): arrays of
    tile counts, fan-in splits, units per pass and item counts. A pass of c units issues about
    part x density steps, plus the excess of the largest of its units' counts over their
    mean: a unit holds 1/split of its channel's additions and subtractions, so the
    excess is 2 sigma z_c / split, sigma the spread of one channel's count for
    independent weights and z_c the expected maximum of c standard normals (halved when
    units are ordered by their counts)."""
    tiles = np.asarray(tiles, dtype=np.float64)
    split = np.asarray(split, dtype=np.float64)
    n, a = geo.acc_bits, geo.activation_bits
    lanes = shape.pixels / tiles
    per_pass = np.asarray(per_pass, dtype=np.float64)
    units = tiles * split * shape.cout
    passes = np.ceil(units / per_pass)
    items = np.minimum(np.asarray(items, dtype=np.float64), passes)
    part = shape.fan_in / split
    q = shape.density / 2
    sigma = np.sqrt(shape.fan_in * q * (1 - q)) / split
    excess = 2 * sigma * expected_max_normal(per_pass) * (0.5 if geo.balance else 1.0)
    steps = np.minimum(part * (shape.density if geo.sparse else 1.0) + excess, 2 * part)
    pass_lanes = per_pass * lanes
    load_rows = passes * steps * a
    main = _Work(items, load_rows, np.zeros_like(passes), passes * steps, passes * n,
                 load_rows, np.zeros_like(passes))
    cycles, energy = _phase_estimate(main, pass_lanes, ops, move)
    per_item = np.ceil(passes / items) * (steps * (ops.add.cycles + a * ops.load_row.cycles)
                                           + n * ops.readout_row.cycles)
    cycles = np.maximum(cycles, per_item)
    outputs = np.where(split > 1, tiles * shape.cout, 0.0)
    reduction = reduction_estimate(outputs, split, lanes, geo, ops, move)
    return _with_reduction((cycles, energy), reduction, outputs > 0, move)


def expected_max_normal(count: np.ndarray) -> np.ndarray:
    """E[max of c standard normals] by Blom's approximation, Phi^-1((c - 0.375) / (c + 0.25))
    (G. Blom, Statistical Estimates and Transformed Beta-Variables, 1958); 0 for c = 1."""
    inv = np.vectorize(NormalDist().inv_cdf)
    c = np.asarray(count, dtype=np.float64)
    return np.where(c > 1, inv((c - 0.375) / (c + 0.25)), 0.0)


def _phase_estimate(w: _Work, lanes: float | np.ndarray, ops: SubarrayOpCosts, move: MoveCosts
                    ) -> tuple[np.ndarray, np.ndarray]:
    total = (w.load_rows * ops.load_row.cycles + w.reset_rows * ops.reset_row.cycles
             + w.adds * ops.add.cycles + w.readout_rows * ops.readout_row.cycles)
    busiest = total / w.items + w.unit_adds * ops.add.cycles  # + one unit of granularity
    bus = (w.bus_in_rows + w.readout_rows) * lanes / move.bus_bits_per_cycle / move.banks
    per_lane = (w.load_rows * ops.load_row.energy_total_pj
                + w.reset_rows * ops.reset_row.energy_total_pj
                + w.adds * ops.add.energy_total_pj
                + w.readout_rows * ops.readout_row.energy_total_pj
                + w.bus_in_rows * move.pj_per_bit_in
                + w.readout_rows * move.pj_per_bit_out)
    return np.maximum(busiest, bus), per_lane * lanes


@dataclass(frozen=True)
class _Work:
    """Totals of one phase (rows and adds summed over its items)."""

    items: np.ndarray
    load_rows: np.ndarray
    reset_rows: np.ndarray
    adds: np.ndarray
    readout_rows: np.ndarray
    bus_in_rows: np.ndarray
    unit_adds: np.ndarray  # adds of one unit (the granularity of the cut)
