"""The tiling every digital bit-serial mapping is made of, and its exact operation counts.

A layer computes, for each output pixel p and output channel o, the sum over its F
fan-in positions (input channel x kernel tap) of +/- activation. On a bit-serial
subarray each column is a lane holding one output pixel; operands sit vertically:

        columns (lanes = output pixels of one tile, at most `columns` of them)
        +---------------------------------------------+
        | 2 zero rows (+ carry row for ParaPIM)       |  reserved
        | acc[0] .. acc[g-1]     n rows each          |  resident accumulators
        | act slot 0 .. slot S-1 a rows each          |  activations (im2col: each lane
        +---------------------------------------------+   gets its own receptive field)

A tiling has `tiles` near-equal tiles of output pixels and `split` near-equal parts of
the fan-in. A *segment* is one (tile, part): the activations one load brings. A *unit*
is one output channel of one segment. Units are ordered (tile, part, channel) and cut
into `items` contiguous ranges of near-equal cost, one per subarray; columns without a
lane are idle (not precharged, SA disabled).

Within an item, for every segment it touches: if the part's activations fit beside one
accumulator they are loaded once and the item's channels run against them, one
accumulator at a time (activation-stationary); otherwise as many accumulators as fit stay
resident while the activations stream through slot by slot, once per round of resident
accumulators (output-stationary). Per channel: one add/subtract per weight the
controller issues, the first one reading the second zero row in place of the accumulator
(so no reset: a channel without any nonzero weight here is reset instead, n row writes),
then the accumulator is read out (n row reads).
With split > 1 the partial sums of the parts meet in a reduction phase: per output,
split loads of n rows and split - 1 full-width adds, then one readout.

All counts are exact integers computed vectorised from the layer's real weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imcsim.designs.bitserial.mapping.gather_units import GatherUnits
from imcsim.designs.bitserial.mapping.partition import min_makespan_cut
from imcsim.designs.bitserial.mapping.pieces import Pieces, make_pieces
from imcsim.designs.bitserial.mapping.sparse_loads import (
    after_kth_nonzero,
    needed_positions,
    nonzeros_by_part,
    round_bounds,
)
from imcsim.errors import ConfigError
from imcsim.workload.layer import ComputeLayer


@dataclass(frozen=True)
class Geometry:
    rows: int
    columns: int
    subarrays: int
    activation_bits: int
    acc_bits: int
    reserved_rows: int
    sparse: bool  # zero weights skipped by the controller
    broadcast: bool  # items of one bank sharing activations get them in one transfer
    balance: bool  # cut items by their real add counts (else by unit counts)
    per_bank: int  # subarrays per bank (the reach of one broadcast)
    sparse_loads: bool = False  # load only activations a resident channel adds
    cut: bool = False  # an item may end inside a unit (the channel's partial sums reduced)

    def stationary(self, part_size: np.ndarray) -> np.ndarray:
        """Per part: True if its activations fit beside one accumulator (loaded once)."""
        free = self.rows - self.reserved_rows - np.asarray(part_size) * self.activation_bits
        return free >= self.acc_bits

    def max_streaming_accumulators(self) -> int:
        """Accumulators that fit when activations stream through one slot at a time."""
        return (self.rows - self.reserved_rows - self.activation_bits) // self.acc_bits

    def load_rounds(self, part_size: np.ndarray, channels: np.ndarray) -> np.ndarray:
        """Loads of a segment for `channels` channels: 1 if activation-stationary, else one
        per round of resident accumulators."""
        stream = self.max_streaming_accumulators()
        return np.where(self.stationary(part_size), 1, -(-np.asarray(channels) // stream))


@dataclass(frozen=True)
class Tiling:
    split: int  # fan-in parts
    tiles: int  # pixel tiles (each of at most `columns` lanes)
    items: int  # work items (at most one per subarray)
    layout: str = "pixel"  # layouts.MAIN_PHASES: a column per pixel, or channels side by side
    per_pass: int = 0  # gather layout: units side by side (0: as many as the columns hold)


@dataclass(frozen=True)
class UnitCosts:
    """Cycles of the subarray operations the partition balances."""

    add: int
    load_row: int
    reset_row: int
    readout_row: int


@dataclass
class LayerItems:
    """Work items of one layer phase, as parallel arrays (one entry per item).

    `*_rows` and `adds` count operations (they set cycles); `lane_*` weight the same
    operations by the lanes they run on (they set energy and traffic).
    """

    phase: str  # "main" | "reduce"
    subarray: np.ndarray  # where each item runs (bank * per_bank + local index)
    load_rows: np.ndarray
    reset_rows: np.ndarray
    adds: np.ndarray
    readout_rows: np.ndarray
    weights_scanned: np.ndarray  # weights the controller walks for this item
    lanes: np.ndarray  # widest tile the item touches
    lane_load_rows: np.ndarray
    lane_reset_rows: np.ndarray
    lane_adds: np.ndarray
    lane_readout_rows: np.ndarray
    bus_in_bits: np.ndarray  # after broadcast sharing
    bus_out_bits: np.ndarray
    unit_bounds: np.ndarray  # item i runs pieces or passes (main) or outputs (reduce) here
    index: UnitIndex | None = None  # main phase: what each unit is
    pieces: Pieces | None = None  # main phase: what each item runs (units, or parts of one)
    outputs: np.ndarray | None = None  # reduce phase: output (tile * cout + channel) per unit
    units: GatherUnits | None = None  # main phase of the gather layout: its units in passes
    per_pass: int = 1  # reduce phase: outputs side by side in one pass

    def __len__(self) -> int:
        return len(self.adds)

    def weight_additions(self) -> int:
        """Additions issued for weights: all of them, except the gather layout's padding
        steps (a column group adding a written zero while its neighbours add)."""
        if self.units is not None:
            return int((self.units.plus + self.units.minus).sum())
        return int(self.adds.sum())


def min_tiles(out_pixels: int, columns: int) -> int:
    return -(-out_pixels // columns)


def tiles_per_pass(columns: int, out_pixels: int, tiles: int) -> int:
    """Pixel tiles (`tile_bounds`: the largest has ceil(out_pixels / tiles) lanes) that
    fit side by side in `columns`."""
    return columns // -(-out_pixels // tiles)


def tile_bounds(out_pixels: int, tiles: int) -> np.ndarray:
    return np.linspace(0, out_pixels, tiles + 1).round().astype(np.int64)


def part_bounds(fan_in: int, split: int) -> np.ndarray:
    """Start offsets of `split` near-equal fan-in parts (plus the end)."""
    return np.linspace(0, fan_in, split + 1).round().astype(np.int64)


def nonzeros_per_part(layer: ComputeLayer, split: int) -> np.ndarray:
    """(out_channels, split) counts of nonzero weights in each fan-in part."""
    return nonzeros_by_part(layer.weights.reshape(layer.out_channels, -1),
                            part_bounds(layer.fan_in, split))


def check_fits(layer: ComputeLayer, geo: Geometry, source: str) -> None:
    if geo.max_streaming_accumulators() < 1:
        raise ConfigError(
            f"a subarray of {geo.rows} rows cannot hold one {geo.acc_bits}-bit accumulator "
            f"and one {geo.activation_bits}-bit activation (layer {layer.name})",
            source=source, key="chip.rows")


def item_slots(items: int, banks: int, per_bank: int, bank_major: bool) -> np.ndarray:
    """Subarray of each item: consecutive items in one bank (so that they can share a
    broadcast), or dealt round-robin over banks (so that bank buses share the load)."""
    j = np.arange(items)
    if bank_major:
        return j
    return (j % banks) * per_bank + j // banks


def cut(costs: np.ndarray, items: int) -> np.ndarray:
    """Bounds of `items` contiguous ranges of near-equal total cost (each non-empty)."""
    n = len(costs)
    items = min(items, n)
    cum = np.concatenate([[0.0], np.cumsum(costs, dtype=np.float64)])
    targets = cum[-1] * np.arange(1, items) / items
    inner = np.searchsorted(cum, targets, side="left").astype(np.int64)
    # keep ranges non-empty: bound j in [j+1, n-items+j+1], increasing
    j = np.arange(1, items)
    inner = np.minimum(np.maximum(inner, j), n - items + j)
    inner = np.maximum.accumulate(inner) if len(inner) else inner
    return np.concatenate([[0], inner, [n]]).astype(np.int64)


def _sum_by(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(index, weights=values, minlength=n).round().astype(np.int64)


@dataclass(frozen=True)
class UnitIndex:
    """How a unit position maps back to (tile, conv group, fan-in part, output channel).

    Units are ordered (tile, conv group, part, channel within the group); a segment is
    one (tile, conv group, part), i.e. one set of activations.
    """

    tiles: int
    groups: int
    split: int
    per_group: int  # output channels per conv group
    order: np.ndarray  # order[g * per_group + j]: channel at position j of group g

    def segment(self, unit: np.ndarray) -> np.ndarray:
        return unit // self.per_group

    def tile(self, unit: np.ndarray) -> np.ndarray:
        return self.segment(unit) // (self.groups * self.split)

    def group(self, unit: np.ndarray) -> np.ndarray:
        return (self.segment(unit) // self.split) % self.groups

    def part(self, unit: np.ndarray) -> np.ndarray:
        return self.segment(unit) % self.split

    def channel(self, unit: np.ndarray) -> np.ndarray:
        return self.order[self.group(unit) * self.per_group + unit % self.per_group]


def main_items(layer: ComputeLayer, geo: Geometry, tiling: Tiling, unit: UnitCosts,
               banks: int) -> tuple[LayerItems, np.ndarray]:
    """The main phase's items and, per output (tile * out_channels + channel), how many
    partial sums it leaves (its parts, plus one per cut of one of its units)."""
    split, tiles, groups = tiling.split, tiling.tiles, layer.groups
    cout, n, a = layer.out_channels, geo.acc_bits, geo.activation_bits
    per_group = cout // groups
    lanes_t = np.diff(tile_bounds(layer.out_pixels, tiles))
    pb = part_bounds(layer.fan_in, split)
    part_size = np.diff(pb)
    weights = layer.weights.reshape(cout, -1)
    if geo.sparse:
        per_channel = nonzeros_per_part(layer, split)  # (cout, split)
    else:
        per_channel = np.broadcast_to(part_size, (cout, split))
    order = np.arange(cout)
    if geo.balance:  # within each conv group, channels by add count (heavy first)
        totals = per_channel.sum(axis=1).reshape(groups, per_group)
        order = (np.argsort(-totals, axis=1, kind="stable")
                 + per_group * np.arange(groups)[:, None]).ravel()
    index = UnitIndex(tiles, groups, split, per_group, order)
    # units in (tile, group, part, channel) order
    adds_u = np.tile(per_channel[order].reshape(groups, per_group, split)
                     .transpose(0, 2, 1).ravel(), tiles)
    seg_u = np.repeat(np.arange(tiles * groups * split), per_group)
    part_u = seg_u % split
    if geo.balance:  # the real add counts (the sparse controller knows them)
        expected_adds = adds_u.astype(np.float64)
    else:  # count-blind: every weight of a part is expected to cost the same
        expected_adds = part_size[part_u] * (adds_u.sum() / max(1, part_size[part_u].sum()))
    fixed = n * (unit.reset_row * (adds_u == 0) + unit.readout_row)
    stream = np.where(geo.stationary(part_size), 0, geo.max_streaming_accumulators())
    seg_part = np.arange(tiles * groups * split) % split
    first, taken = min_makespan_cut(expected_adds, fixed, unit.add, seg_u,
                                    part_size[seg_part] * a * unit.load_row,
                                    stream[seg_part], tiling.items, cut=geo.cut)

    def cut_position(units: np.ndarray, k: np.ndarray) -> np.ndarray:
        if not geo.sparse:
            return k
        f0 = pb[part_u[units]]
        return after_kth_nonzero(weights, index.channel(units), f0, pb[part_u[units] + 1],
                                 k) - f0

    pieces = make_pieces(first, taken, adds_u, part_size[part_u], cut_position)
    p_unit = pieces.unit
    adds_p, seg_p = pieces.adds, seg_u[p_unit]
    lanes_p = lanes_t[seg_p // (groups * split)]
    bounds = pieces.bounds
    n_items = len(bounds) - 1
    starts = bounds[:-1]

    adds = np.add.reduceat(adds_p, starts)
    lane_adds = np.add.reduceat(adds_p * lanes_p, starts)
    acc_rows = np.diff(bounds) * n
    lane_acc_rows = np.add.reduceat(lanes_p, starts) * n
    empty_p = adds_p == 0  # nothing to initialise the accumulator: reset it
    reset_rows = np.add.reduceat(empty_p.astype(np.int64), starts) * n
    lane_reset_rows = np.add.reduceat(np.where(empty_p, lanes_p, 0), starts) * n
    scanned = np.add.reduceat(pieces.hi - pieces.lo, starts)

    # runs: the pieces of one item in one segment (one set of activations)
    item_p = np.repeat(np.arange(n_items), np.diff(bounds))
    new_run = np.ones(len(p_unit), dtype=bool)
    new_run[1:] = (item_p[1:] != item_p[:-1]) | (seg_p[1:] != seg_p[:-1])
    run0 = np.flatnonzero(new_run)
    run_len = np.diff(np.append(run0, len(p_unit)))
    run_item, run_seg = item_p[run0], seg_p[run0]
    run_part = run_seg % split
    run_lanes = lanes_t[run_seg // (groups * split)]
    rounds = geo.load_rounds(part_size[run_part], run_len)
    run_load = rounds * part_size[run_part] * a
    subarray = item_slots(n_items, banks, geo.per_bank, bank_major=geo.broadcast)
    if geo.broadcast:
        bank = subarray[run_item] // geo.per_bank
        _, inverse, counts = np.unique(run_seg * banks + bank, return_inverse=True,
                                       return_counts=True)
        sharers = counts[inverse]
    else:
        inverse = np.arange(len(run_item))
        sharers = np.ones_like(run_item)
    run_bus = run_load * run_lanes / sharers
    if geo.sparse and geo.sparse_loads:
        runs = _Runs(run_item, run_seg, p_unit[run0] % per_group, run_len, rounds, inverse,
                     pieces.lo[run0], pieces.hi[run0 + run_len - 1], run_lanes)
        run_load, run_bus = _sparse_loads(layer, geo, index, runs)
    outputs = index.tile(p_unit) * cout + index.channel(p_unit)
    partials = np.bincount(outputs, minlength=tiles * cout)
    return LayerItems(
        phase="main", subarray=subarray,
        load_rows=_sum_by(run_item, run_load, n_items), reset_rows=reset_rows,
        adds=adds, readout_rows=acc_rows, weights_scanned=scanned,
        lanes=np.maximum.reduceat(lanes_p, starts),
        lane_load_rows=_sum_by(run_item, run_load * run_lanes, n_items),
        lane_reset_rows=lane_reset_rows, lane_adds=lane_adds,
        lane_readout_rows=lane_acc_rows,
        bus_in_bits=np.bincount(run_item, weights=run_bus, minlength=n_items),
        bus_out_bits=lane_acc_rows.astype(np.float64),
        unit_bounds=bounds, index=index, pieces=pieces), partials


@dataclass(frozen=True)
class _Runs:
    """The pieces of one item in one segment, one entry per run."""

    item: np.ndarray
    seg: np.ndarray
    first: np.ndarray  # position of its first channel in the conv group's channel order
    length: np.ndarray  # channels
    rounds: np.ndarray
    bcast: np.ndarray  # broadcast group (runs of one segment in one bank) of each run
    head: np.ndarray  # the first channel's fan-in range starts here (within the part)
    tail: np.ndarray  # the last channel's fan-in range ends here
    lanes: np.ndarray


def _sparse_loads(layer: ComputeLayer, geo: Geometry, index: UnitIndex, runs: _Runs
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Load rows and bus bits of each run when only the activations some channel of a
    round adds are loaded (imcsim.designs.bitserial.mapping.sparse_loads). A broadcast group (runs of one
    segment in one bank) carries the union its runs need, once per round. A cut channel
    counts only over its own fan-in range."""
    split, per_group, a = index.split, index.per_group, geo.activation_bits
    pb = part_bounds(layer.fan_in, split)
    part = runs.seg % split
    group = (runs.seg // split) % index.groups
    weights = layer.weights.reshape(layer.out_channels, -1)
    first = runs.first + group * per_group
    end = first + runs.length
    per_round = np.where(runs.rounds == 1, runs.length, geo.max_streaming_accumulators())
    owner, r0, r1 = round_bounds(first, runs.length, per_round)
    f0, f1 = pb[part[owner]], pb[part[owner] + 1]
    head = np.where(r0 == first[owner], f0 + runs.head[owner], f0)
    tail = np.where(r1 == end[owner], f0 + runs.tail[owner], f1)
    need = needed_positions(weights, index.order, r0, r1, f0, f1, head, tail)
    load = np.bincount(owner, weights=need, minlength=len(first)).astype(np.int64) * a
    g = runs.bcast
    n_groups = int(g.max()) + 1 if len(g) else 0
    g_first = np.full(n_groups, np.iinfo(np.int64).max)
    np.minimum.at(g_first, g, first)
    g_end = np.zeros(n_groups, dtype=np.int64)
    np.maximum.at(g_end, g, end)
    g_part = np.zeros(n_groups, dtype=np.int64)
    g_part[g] = part
    g_rounds = np.zeros(n_groups, dtype=np.int64)
    np.maximum.at(g_rounds, g, runs.rounds)
    g_head = np.full(n_groups, np.iinfo(np.int64).max)
    at_first = first == g_first[g]
    np.minimum.at(g_head, g[at_first], runs.head[at_first])
    g_tail = np.zeros(n_groups, dtype=np.int64)
    at_end = end == g_end[g]
    np.maximum.at(g_tail, g[at_end], runs.tail[at_end])
    g_f0 = pb[g_part]
    g_need = needed_positions(weights, index.order, g_first, g_end, g_f0, pb[g_part + 1],
                              g_f0 + g_head, g_f0 + g_tail)
    sharers = np.bincount(g, minlength=n_groups)
    shared = sharers[g]
    bus = np.where(shared > 1, (g_need * g_rounds * a)[g] / shared, load) * runs.lanes
    return load, bus


def reduction_items(layer: ComputeLayer, geo: Geometry, tiling: Tiling, banks: int,
                    partials: np.ndarray) -> LayerItems:
    """Sum the partial sums of every output that has more than one (`partials` per
    output, tile-major). Outputs run side by side, as many as the columns hold (a pass),
    most partial sums first; per pass: as many loads of n rows as its outputs' most
    partial sums (an output with fewer gets zeros), one add fewer, then one readout.
    Passes are cut into ranges of near-equal work, one per subarray."""
    cout, n = layer.out_channels, geo.acc_bits
    lanes_t = np.diff(tile_bounds(layer.out_pixels, tiling.tiles))
    per_pass = tiles_per_pass(geo.columns, layer.out_pixels, tiling.tiles)
    outputs = np.flatnonzero(partials > 1)
    outputs = outputs[np.argsort(-partials[outputs], kind="stable")]
    starts_p = np.arange(0, len(outputs), per_pass)
    count = np.maximum.reduceat(partials[outputs], starts_p)
    lanes_p = np.add.reduceat(lanes_t[outputs // cout], starts_p)
    bounds = cut(count.astype(np.float64), geo.subarrays)
    starts = bounds[:-1]
    passes = np.diff(bounds)
    loads = np.add.reduceat(count, starts)
    lane_passes = np.add.reduceat(lanes_p, starts)
    lane_loads = np.add.reduceat(lanes_p * count, starts)
    zeros = np.zeros_like(passes)
    return LayerItems(
        phase="reduce",
        subarray=item_slots(len(passes), banks, geo.per_bank, bank_major=False),
        load_rows=loads * n, reset_rows=zeros, adds=loads - passes,
        readout_rows=passes * n, weights_scanned=zeros,
        lanes=np.maximum.reduceat(lanes_p, starts),
        lane_load_rows=lane_loads * n, lane_reset_rows=zeros,
        lane_adds=lane_loads - lane_passes, lane_readout_rows=lane_passes * n,
        bus_in_bits=(lane_loads * n).astype(np.float64),
        bus_out_bits=(lane_passes * n).astype(np.float64),
        unit_bounds=np.minimum(bounds * per_pass, len(outputs)), outputs=outputs,
        per_pass=per_pass)
