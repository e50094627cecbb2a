"""The tiling every digital bit-serial mapping is made of, and its exact operation counts.

A layer computes, for each output pixel p and output channel o, the sum over its F
fan-in positions (input channel x kernel tap) of +/- activation. On a bit-serial
subarray each column is a lane holding one output pixel; operands sit vertically:

        columns (lanes = output pixels of one tile, up to `columns` of them)
        +---------------------------------------------+
        | zero row (+ carry row for ParaPIM)          |  reserved
        | acc[0] .. acc[g-1]     n rows each          |  resident accumulators
        | act slot 0 .. slot S-1 a rows each          |  activations (im2col: each lane
        +---------------------------------------------+   gets its own receptive field)

A tiling cuts the layer into work items (tile t, fan-in part k, output group j):
`split` parts of the fan-in, output groups of `group` channels. An item loads its part's
activations (a rows per fan-in position), and for each of its output channels resets an
accumulator, adds/subtracts one activation per weight the controller issues, and reads
the accumulator out. When the part's activations fit beside one accumulator they are
loaded once (activation-stationary); otherwise accumulators stay while the activations
stream through in chunks, and are reloaded for each round of resident accumulators
(output-stationary). With split > 1 the partial sums of the parts are added in a
reduction phase (split loads and split-1 full-width adds per output, then one readout).

All counts are exact integers computed vectorised from the layer's real weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
    balance: bool  # group output channels so that groups issue near-equal numbers of adds
    per_bank: int  # subarrays per bank (the reach of one broadcast)

    def fit_accumulators(self, part_size: int) -> int:
        """Accumulators that fit beside a fully resident part of `part_size` positions."""
        free = self.rows - self.reserved_rows - part_size * self.activation_bits
        return max(free // self.acc_bits, 0)

    def max_streaming_accumulators(self) -> int:
        """Accumulators that fit when activations stream through one slot at a time."""
        return (self.rows - self.reserved_rows - self.activation_bits) // self.acc_bits


@dataclass(frozen=True)
class Tiling:
    split: int  # fan-in parts
    group: int  # output channels per item


@dataclass
class LayerItems:
    """Work items of one layer phase, as parallel arrays (one entry per item)."""

    phase: str  # "main" | "reduce"
    tile: np.ndarray  # tile index
    lanes: np.ndarray  # active columns
    load_rows: np.ndarray
    reset_rows: np.ndarray
    adds: np.ndarray
    readout_rows: np.ndarray
    weights_scanned: np.ndarray  # weights the controller walks for this item
    share: np.ndarray  # items with equal `share` load identical activations (broadcastable)
    channel_order: np.ndarray | None = None  # main phase: output channels, grouped
    group_starts: np.ndarray | None = None  # main phase: group g = order[starts[g]:starts[g+1]]

    def __len__(self) -> int:
        return len(self.tile)


def tile_lanes(out_pixels: int, columns: int) -> np.ndarray:
    tiles = -(-out_pixels // columns)
    lanes = np.full(tiles, columns, dtype=np.int64)
    lanes[-1] = out_pixels - columns * (tiles - 1)
    return lanes


def channel_groups(totals: np.ndarray, group: int, balance: bool
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Split the output channels into ceil(cout / group) near-equal groups.

    Returns (order, starts): group g holds channels order[starts[g]:starts[g+1]].
    Without balancing the groups are contiguous. With balancing, channels ranked by
    their add count are dealt out serpentine-wise (0..G-1, G-1..0, ...), so that every
    group issues nearly the same number of additions and no subarray lags the rest.
    """
    cout = len(totals)
    n_groups = -(-cout // group)
    if not balance:
        return np.arange(cout), np.linspace(0, cout, n_groups + 1).round().astype(np.int64)[:-1]
    ranked = np.argsort(-totals, kind="stable")
    cycle, pos = np.divmod(np.arange(cout), n_groups)
    gid = np.where(cycle % 2 == 0, pos, n_groups - 1 - pos)
    order = ranked[np.argsort(gid, kind="stable")]
    sizes = np.bincount(gid, minlength=n_groups)
    return order, np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)


def part_bounds(fan_in: int, split: int) -> np.ndarray:
    """Start offsets of `split` near-equal fan-in parts (plus the end)."""
    return np.linspace(0, fan_in, split + 1).round().astype(np.int64)


def nonzeros_per_part(layer: ComputeLayer, split: int) -> np.ndarray:
    """(out_channels, split) counts of nonzero weights in each fan-in part."""
    w = layer.weights.reshape(layer.out_channels, -1) != 0
    if split == 1:
        return np.count_nonzero(w, axis=1).astype(np.int64)[:, None]
    bounds = part_bounds(w.shape[1], split)
    return np.add.reduceat(w, bounds[:-1], axis=1, dtype=np.int64)


def check_fits(layer: ComputeLayer, geo: Geometry, source: str) -> None:
    if geo.max_streaming_accumulators() < 1:
        raise ConfigError(
            f"a subarray of {geo.rows} rows cannot hold one {geo.acc_bits}-bit accumulator "
            f"and one {geo.activation_bits}-bit activation (layer {layer.name})",
            source=source, key="chip.rows")


def layer_items(layer: ComputeLayer, geo: Geometry, tiling: Tiling) -> list[LayerItems]:
    """Exact work items of `layer` under `tiling`: the main phase and, if split, the reduction."""
    split, group = tiling.split, tiling.group
    cout, fan_in = layer.out_channels, layer.fan_in
    lanes = tile_lanes(layer.out_pixels, geo.columns)
    tiles = len(lanes)
    bounds = part_bounds(fan_in, split)
    part_size = np.diff(bounds)  # (split,)
    if geo.sparse:
        per_channel = nonzeros_per_part(layer, split)  # (cout, split)
    else:
        per_channel = np.broadcast_to(part_size, (cout, split))
    order, starts = channel_groups(per_channel.sum(axis=1), group, geo.balance)
    group_size = np.diff(np.append(starts, cout))  # (n_groups,)
    adds = np.add.reduceat(per_channel[order], starts, axis=0)  # (n_groups, split)

    n_groups = len(starts)
    # loads per (group, part): once if the part fits beside an accumulator, else once per
    # round of resident accumulators.
    fit = np.array([geo.fit_accumulators(int(s)) for s in part_size])
    stream = geo.max_streaming_accumulators()
    rounds = np.where(fit[None, :] >= 1, 1, -(-group_size[:, None] // stream))
    load_rows = rounds * part_size[None, :] * geo.activation_bits  # (n_groups, split)
    acc_rows = group_size[:, None] * geo.acc_bits * np.ones((1, split), dtype=np.int64)
    scanned = group_size[:, None] * part_size[None, :]

    def per_tile(a: np.ndarray) -> np.ndarray:
        return np.tile(a.ravel(), tiles)

    items_per_tile = n_groups * split
    main = LayerItems(
        phase="main",
        tile=np.repeat(np.arange(tiles), items_per_tile),
        lanes=np.repeat(lanes, items_per_tile),
        load_rows=per_tile(load_rows),
        reset_rows=per_tile(acc_rows),
        adds=per_tile(adds),
        readout_rows=per_tile(acc_rows),
        weights_scanned=per_tile(scanned),
        # items of one tile and one fan-in part load the same activations
        share=(np.repeat(np.arange(tiles), items_per_tile) * split
               + np.tile(np.arange(split), tiles * n_groups)),
        channel_order=order,
        group_starts=starts,
    )
    if split == 1:
        return [main]
    return [main, reduction_items(lanes, cout, split, geo)]


def reduction_items(lanes: np.ndarray, cout: int, split: int, geo: Geometry) -> LayerItems:
    """Sum `split` partial sums per output: outputs (tile, channel) spread over subarrays."""
    tiles = len(lanes)
    per_tile_items = max(1, min(cout, geo.subarrays // tiles))
    starts = np.linspace(0, cout, per_tile_items + 1).round().astype(np.int64)
    outputs = np.diff(starts)
    outputs = outputs[outputs > 0]
    k = len(outputs)
    out_t = np.tile(outputs, tiles)
    n = geo.acc_bits
    return LayerItems(
        phase="reduce",
        tile=np.repeat(np.arange(tiles), k),
        lanes=np.repeat(lanes, k),
        load_rows=out_t * split * n,
        reset_rows=np.zeros_like(out_t),
        adds=out_t * (split - 1),
        readout_rows=out_t * n,
        weights_scanned=np.zeros_like(out_t),
        share=np.arange(len(out_t)),
    )
