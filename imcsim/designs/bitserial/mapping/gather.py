"""The gather layout: several output channels side by side in one subarray's columns.

The pixel layout (`tiling`) gives a column to each output pixel, so a 7x7 feature map
uses 49 of 256 columns and a fully-connected layer one. Here a column group holds the
pixels of one tile for one (output channel, part), a *unit*, and c of them run side by
side (c = columns // tile lanes). Part k of a channel is the k-th of `split` near-equal
chunks of the positions it adds and of those it subtracts (cut by work, not by fan-in
position: every column group has its own activations, so parts need not be aligned):

        columns:  | unit 0: tile pixels | unit 1 | ... | unit c-1 | idle |
        rows:     reserved | acc (n rows) | slot (a rows)

Each column group gets its own activations, gathered in the order of its channel's
weights: the controller writes into the slot, unit by unit, the activation of the next
position where that channel's weight is +1, and the pass adds the slot; then the
positions with weight -1, subtracted. A unit with fewer such positions gets a zero (from
the write driver: only real activations travel the bus). A
sparse controller gathers only nonzero weights; a dense one also gathers the zero
weights (as additions of a written zero). So a pass of units U costs

    steps = max_{u in U} n+_u + max_{u in U} n-_u      (one slot load, a rows, and one
                                                        add or subtract per step)

then one readout of the accumulators (n rows); the first step reads the zero row as its
source (no reset), and a pass with no step at all resets its accumulators instead.
Activations are not shared between channels here (each column group has its own order),
which is what the pixel layout's stationarity buys; the search weighs the two.

Units are ordered by their step counts (heaviest first) when the arch balances channels,
so that a pass groups alike channels; passes are cut into items of near-equal cost, one
item per subarray. With split > 1 the parts' partial sums meet in the reduction phase.
"""

from __future__ import annotations

import numpy as np

from imcsim.designs.bitserial.mapping.gather_units import order_units, pass_lanes, pass_steps
from imcsim.designs.bitserial.mapping.tiling import (
    Geometry,
    LayerItems,
    Tiling,
    UnitCosts,
    cut,
    item_slots,
    part_bounds,
    tile_bounds,
    tiles_per_pass,
)
from imcsim.workload.layer import ComputeLayer


def pass_costs(adds: np.ndarray, unit: UnitCosts, geo: Geometry) -> np.ndarray:
    """Cycles of each pass on its subarray: per step a slot load and an add, then the
    readout (or a reset, then the readout, when the pass has no step)."""
    n, a = geo.acc_bits, geo.activation_bits
    return (adds * (unit.add + a * unit.load_row) + n * unit.readout_row
            + n * unit.reset_row * (adds == 0))


def gather_items(layer: ComputeLayer, geo: Geometry, tiling: Tiling, unit: UnitCosts,
                 banks: int) -> tuple[LayerItems, np.ndarray]:
    """The main phase's items under the gather layout and, per output (tile *
    out_channels + channel), how many partial sums it leaves (its parts)."""
    cout, n, a = layer.out_channels, geo.acc_bits, geo.activation_bits
    lanes_t = np.diff(tile_bounds(layer.out_pixels, tiling.tiles))
    per_pass = tiling.per_pass or tiles_per_pass(geo.columns, layer.out_pixels, tiling.tiles)
    units = order_units(layer, tiling.tiles, tiling.split, per_pass, geo.sparse, geo.balance)
    plus, minus = pass_steps(units)
    adds = plus + minus
    lanes = pass_lanes(units, lanes_t)
    # the controller walks each channel's weights once over its parts
    sizes = np.diff(part_bounds(layer.fan_in, tiling.split))
    unit_starts = np.arange(0, len(units.tile), per_pass)
    scanned = np.add.reduceat(sizes[units.part], unit_starts)
    bounds = cut(pass_costs(adds, unit, geo).astype(np.float64), tiling.items)
    starts = bounds[:-1]
    n_items = len(starts)
    load_rows = adds * a
    empty = (adds == 0).astype(np.int64)
    lane_load = load_rows * lanes
    real = np.add.reduceat(lanes_t[units.tile] * (units.plus + units.minus), unit_starts) * a
    lane_read = lanes * n

    def per_item(values: np.ndarray) -> np.ndarray:
        return np.add.reduceat(values, starts)

    outputs = units.tile * cout + units.channel
    partials = np.bincount(outputs, minlength=tiling.tiles * cout)
    return LayerItems(
        phase="main",
        subarray=item_slots(n_items, banks, geo.per_bank, bank_major=False),
        load_rows=per_item(load_rows), reset_rows=per_item(empty) * n,
        adds=per_item(adds), readout_rows=np.diff(bounds) * n,
        weights_scanned=per_item(scanned), lanes=np.maximum.reduceat(lanes, starts),
        lane_load_rows=per_item(lane_load), lane_reset_rows=per_item(empty * lanes) * n,
        lane_adds=per_item(adds * lanes), lane_readout_rows=per_item(lane_read),
        bus_in_bits=per_item(real).astype(np.float64),
        bus_out_bits=per_item(lane_read).astype(np.float64),
        unit_bounds=bounds, units=units), partials
