"""The units of the gather layout (`gather`) and their order: which (pixel tile, fan-in
part, output channel) units run side by side in one pass, and each one's step counts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imcsim.workload.layer import ComputeLayer


@dataclass(frozen=True)
class GatherUnits:
    """The units of a gather layout in pass order; pass j runs units [j c, (j + 1) c).

    Unit (tile t, channel o, part k) takes the k-th of `split` near-equal chunks of the
    positions channel o adds and, likewise, of those it subtracts (`chunk`): parts are
    cut by the work they hold, not by fan-in position, so that units are alike."""

    tile: np.ndarray
    channel: np.ndarray
    part: np.ndarray
    split: int
    per_pass: int  # c: units side by side in one subarray
    plus: np.ndarray  # n+ of each unit: positions added
    minus: np.ndarray  # n- of each unit: positions subtracted

    def pass_of(self, j: int) -> slice:
        return slice(j * self.per_pass, min((j + 1) * self.per_pass, len(self.tile)))


def chunk(count: np.ndarray | int, k: np.ndarray | int, split: int
          ) -> tuple[np.ndarray, np.ndarray]:
    """[start, end) of the k-th of `split` near-equal chunks of `count` items."""
    n, part = np.asarray(count, dtype=np.int64), np.asarray(k, dtype=np.int64)
    return n * part // split, n * (part + 1) // split


def is_added(weights: np.ndarray, sparse: bool) -> np.ndarray:
    """The positions a channel adds: weight +1 (sparse), or >= 0 (dense: a zero weight
    is an addition of zero)."""
    return weights > 0 if sparse else weights >= 0


def channel_counts(layer: ComputeLayer, sparse: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per output channel: the positions it adds (`is_added`) and those it subtracts."""
    positive, negative = layer.sign_counts
    return (positive if sparse else layer.fan_in - negative), negative


def order_units(layer: ComputeLayer, tiles: int, split: int, per_pass: int, sparse: bool,
                balance: bool) -> GatherUnits:
    """Every (tile, channel, part) unit, heaviest first when `balance` (ties: tile,
    channel, part), else in (tile, channel, part) order."""
    plus_o, minus_o = channel_counts(layer, sparse)
    cout = len(plus_o)
    t, o, k = (a.ravel() for a in np.meshgrid(np.arange(tiles), np.arange(cout),
                                              np.arange(split), indexing="ij"))
    p0, p1 = chunk(plus_o[o], k, split)
    m0, m1 = chunk(minus_o[o], k, split)
    p, m = p1 - p0, m1 - m0
    if balance:  # heaviest first, alike (+, -) mixes next to each other
        order = np.lexsort((-m, -p, -(p + m)))
        t, o, k, p, m = t[order], o[order], k[order], p[order], m[order]
    return GatherUnits(t, o, k, split, per_pass, p, m)


def unit_positions(weights: np.ndarray, part: int, split: int, sparse: bool
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The fan-in positions one unit of a channel (its `weights` row) adds and subtracts."""
    plus = np.flatnonzero(is_added(weights, sparse))
    minus = np.flatnonzero(weights < 0)
    p0, p1 = chunk(len(plus), part, split)
    m0, m1 = chunk(len(minus), part, split)
    return plus[int(p0):int(p1)], minus[int(m0):int(m1)]


def pass_steps(units: GatherUnits) -> tuple[np.ndarray, np.ndarray]:
    """Per pass: the additions and the subtractions it issues (maxima over its units)."""
    starts = np.arange(0, len(units.tile), units.per_pass)
    if not len(starts):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return (np.maximum.reduceat(units.plus, starts), np.maximum.reduceat(units.minus, starts))


def pass_lanes(units: GatherUnits, tile_lanes: np.ndarray) -> np.ndarray:
    """Per pass: the columns its units occupy."""
    starts = np.arange(0, len(units.tile), units.per_pass)
    return np.add.reduceat(tile_lanes[units.tile], starts) if len(starts) else starts
