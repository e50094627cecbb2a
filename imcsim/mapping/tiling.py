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

from imcsim.errors import ConfigError
from imcsim.mapping.partition import min_makespan_cut
from imcsim.mapping.sparse_loads import needed_positions, nonzeros_by_part, round_bounds
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
    unit_bounds: np.ndarray  # item i covers units unit_bounds[i]:unit_bounds[i+1]
    index: UnitIndex | None = None  # main phase: what each unit is

    def __len__(self) -> int:
        return len(self.adds)


def min_tiles(out_pixels: int, columns: int) -> int:
    return -(-out_pixels // columns)


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


def _segments(bounds: np.ndarray, seg_len: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split item ranges at segment boundaries: (item, segment, length) per piece."""
    total = int(bounds[-1])
    seg_starts = np.arange(0, total, seg_len)
    starts = np.union1d(bounds[:-1], seg_starts)
    ends = np.append(starts[1:], total)
    item = np.searchsorted(bounds, starts, side="right") - 1
    return item, starts // seg_len, ends - starts


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
               banks: int) -> LayerItems:
    split, tiles, groups = tiling.split, tiling.tiles, layer.groups
    cout, n, a = layer.out_channels, geo.acc_bits, geo.activation_bits
    per_group = cout // groups
    lanes_t = np.diff(tile_bounds(layer.out_pixels, tiles))
    part_size = np.diff(part_bounds(layer.fan_in, split))
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
    lanes_u = lanes_t[seg_u // (groups * split)]
    if geo.balance:  # the real add counts (the sparse controller knows them)
        expected_adds = adds_u.astype(np.float64)
    else:  # count-blind: every weight of a part is expected to cost the same
        expected_adds = part_size[part_u] * (adds_u.sum() / max(1, part_size[part_u].sum()))
    costs = expected_adds * unit.add + n * (unit.reset_row * (adds_u == 0) + unit.readout_row)
    stream = np.where(geo.stationary(part_size), 0, geo.max_streaming_accumulators())
    seg_part = np.arange(tiles * groups * split) % split
    bounds = min_makespan_cut(costs, seg_u, part_size[seg_part] * a * unit.load_row,
                              stream[seg_part], tiling.items)
    n_items = len(bounds) - 1
    starts = bounds[:-1]

    adds = np.add.reduceat(adds_u, starts)
    lane_adds = np.add.reduceat(adds_u * lanes_u, starts)
    acc_rows = np.diff(bounds) * n
    lane_acc_rows = np.add.reduceat(lanes_u, starts) * n
    empty_u = adds_u == 0  # nothing to initialise the accumulator: reset it
    reset_rows = np.add.reduceat(empty_u.astype(np.int64), starts) * n
    lane_reset_rows = np.add.reduceat(np.where(empty_u, lanes_u, 0), starts) * n
    scanned = np.add.reduceat(part_size[part_u], starts)

    piece_item, piece_seg, piece_len = _segments(bounds, per_group)
    piece_part = piece_seg % split
    piece_lanes = lanes_t[piece_seg // (groups * split)]
    rounds = geo.load_rounds(part_size[piece_part], piece_len)
    piece_load = rounds * part_size[piece_part] * a
    subarray = item_slots(n_items, banks, geo.per_bank, bank_major=geo.broadcast)
    if geo.broadcast:
        bank = subarray[piece_item] // geo.per_bank
        _, inverse, counts = np.unique(piece_seg * banks + bank, return_inverse=True,
                                       return_counts=True)
        sharers = counts[inverse]
    else:
        inverse = np.arange(len(piece_item))
        sharers = np.ones_like(piece_item)
    piece_bus = piece_load * piece_lanes / sharers
    if geo.sparse and geo.sparse_loads:
        piece_load, piece_bus = _sparse_loads(layer, geo, index, bounds, piece_item, piece_seg,
                                              piece_len, rounds, inverse, piece_lanes)
    return LayerItems(
        phase="main", subarray=subarray,
        load_rows=_sum_by(piece_item, piece_load, n_items), reset_rows=reset_rows,
        adds=adds, readout_rows=acc_rows, weights_scanned=scanned,
        lanes=np.maximum.reduceat(lanes_u, starts),
        lane_load_rows=_sum_by(piece_item, piece_load * piece_lanes, n_items),
        lane_reset_rows=lane_reset_rows, lane_adds=lane_adds,
        lane_readout_rows=lane_acc_rows,
        bus_in_bits=np.bincount(piece_item, weights=piece_bus, minlength=n_items),
        bus_out_bits=lane_acc_rows.astype(np.float64),
        unit_bounds=bounds, index=index)


def _sparse_loads(layer: ComputeLayer, geo: Geometry, index: UnitIndex, bounds: np.ndarray,
                  piece_item: np.ndarray, piece_seg: np.ndarray, piece_len: np.ndarray,
                  rounds: np.ndarray, group_of: np.ndarray, lanes: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Load rows and bus bits of each piece when only the activations some channel of a
    round adds are loaded (imcsim.mapping.sparse_loads). A broadcast group (pieces of one
    segment in one bank) carries the union its pieces need, once per round."""
    split, per_group, a = index.split, index.per_group, geo.activation_bits
    pb = part_bounds(layer.fan_in, split)
    part = piece_seg % split
    group = (piece_seg // split) % index.groups
    weights = layer.weights.reshape(layer.out_channels, -1)
    first = (np.maximum(bounds[piece_item], piece_seg * per_group) - piece_seg * per_group
             + group * per_group)
    per_round = np.where(rounds == 1, piece_len, geo.max_streaming_accumulators())
    owner, r0, r1 = round_bounds(first, piece_len, per_round)
    need = needed_positions(weights, index.order, r0, r1, pb[part[owner]],
                            pb[part[owner] + 1])
    load = np.bincount(owner, weights=need, minlength=len(piece_item)).astype(np.int64) * a
    n_groups = int(group_of.max()) + 1 if len(group_of) else 0
    g_first = np.full(n_groups, np.iinfo(np.int64).max)
    np.minimum.at(g_first, group_of, first)
    g_end = np.zeros(n_groups, dtype=np.int64)
    np.maximum.at(g_end, group_of, first + piece_len)
    g_part = np.zeros(n_groups, dtype=np.int64)
    g_part[group_of] = part
    g_rounds = np.zeros(n_groups, dtype=np.int64)
    np.maximum.at(g_rounds, group_of, rounds)
    g_need = needed_positions(weights, index.order, g_first, g_end, pb[g_part],
                              pb[g_part + 1])
    sharers = np.bincount(group_of, minlength=n_groups)
    shared = sharers[group_of]
    bus = np.where(shared > 1, (g_need * g_rounds * a)[group_of] / shared, load) * lanes
    return load, bus


def reduction_items(layer: ComputeLayer, geo: Geometry, tiling: Tiling, banks: int
                    ) -> LayerItems:
    """Sum `split` partial sums per output; outputs (tile, channel) cut into even ranges."""
    split, tiles, cout, n = tiling.split, tiling.tiles, layer.out_channels, geo.acc_bits
    lanes_u = np.repeat(np.diff(tile_bounds(layer.out_pixels, tiles)), cout)
    bounds = cut(np.ones(len(lanes_u)), geo.subarrays)
    starts = bounds[:-1]
    outputs = np.diff(bounds)
    lane_outputs = np.add.reduceat(lanes_u, starts)
    zeros = np.zeros_like(outputs)
    return LayerItems(
        phase="reduce",
        subarray=item_slots(len(outputs), banks, geo.per_bank, bank_major=False),
        load_rows=outputs * split * n, reset_rows=zeros, adds=outputs * (split - 1),
        readout_rows=outputs * n, weights_scanned=zeros,
        lanes=np.maximum.reduceat(lanes_u, starts),
        lane_load_rows=lane_outputs * split * n, lane_reset_rows=zeros,
        lane_adds=lane_outputs * (split - 1), lane_readout_rows=lane_outputs * n,
        bus_in_bits=(lane_outputs * split * n).astype(np.float64),
        bus_out_bits=(lane_outputs * n).astype(np.float64),
        unit_bounds=bounds)


def layer_items(layer: ComputeLayer, geo: Geometry, tiling: Tiling, unit: UnitCosts,
                banks: int) -> list[LayerItems]:
    """Exact work items of `layer` under `tiling`: the main phase and, if split, the reduction."""
    main = main_items(layer, geo, tiling, unit, banks)
    if tiling.split == 1:
        return [main]
    return [main, reduction_items(layer, geo, tiling, banks)]
