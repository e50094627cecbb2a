"""Mapping policies: how each dataflow chooses its tiling of a layer.

input_stationary (ParaPIM's mapping)
    Activations stay: the fan-in is cut into the fewest parts that fit beside one
    accumulator; each subarray runs a range of output channels against its resident
    part and reads every partial sum out at once; the partial sums are then reduced.

        subarray k:  [ act part (resident) ] [ acc ]  -> partial sums of its channels
        reduction:   sum over parts

combined_stationary (FAT's mapping)
    Activations stay where they fit, outputs stay where they do not: a search over the
    number of fan-in parts (and of work items) picks, per layer, the tiling that
    minimises the configured objective (time, energy or their product), trading
    activation reloads (output-stationary rounds) against partial-sum traffic and
    reduction (input-stationary parts) and against idle subarrays.

        split = 1:   [ acts stream through ] [ acc_0 .. acc_g-1 stay ]  (no reduction)
        split > 1:   parts as in input_stationary, fewer and wider
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from imcsim.circuits.costs import SubarrayOpCosts
from imcsim.designs.bitserial.mapping.estimate import (
    Estimate,
    LayerShape,
    MoveCosts,
    estimate_gather_many,
    estimate_many,
)
from imcsim.designs.bitserial.mapping.tiling import Geometry, Tiling, tiles_per_pass

# A geometric ladder of counts (fan-in parts) the searches try.
LADDER = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)

OBJECTIVES = {
    "time": lambda e: e.cycles,
    "energy": lambda e: e.energy_pj,
    "edp": lambda e: e.cycles * e.energy_pj,
}


def item_candidates(subarrays: int) -> list[int]:
    """All subarrays, or a half, quarter, ... of them (fewer items reload less)."""
    out, k = [], subarrays
    while k >= 1:
        out.append(k)
        k //= 2
    return out


def _ranked(tilings: list[Tiling], cycles: np.ndarray, energy: np.ndarray, objective: str
            ) -> list[Tiling]:
    """`tilings` best first by the objective's estimate (ties: fewer parts, then more
    items, then the pixel layout)."""
    score = OBJECTIVES[objective](Estimate(cycles, energy))
    split = np.array([t.split for t in tilings])
    items = np.array([t.items for t in tilings])
    gather = np.array([t.layout == "gather" for t in tilings])
    return [tilings[i] for i in np.lexsort((gather, -items, split, score))]


def pixel_candidates(splits: Sequence[int], shape: LayerShape, tiles: int, geo: Geometry,
                     ops: SubarrayOpCosts, move: MoveCosts) -> tuple[list[Tiling], Estimate]:
    """Pixel layouts: `splits` x item counts, with their estimates."""
    counts = item_candidates(geo.subarrays)
    split = np.repeat(np.asarray(splits, dtype=np.int64), len(counts))
    items = np.tile(np.asarray(counts, dtype=np.int64), len(splits))
    cycles, energy = estimate_many(shape, geo, tiles, split, items, ops, move)
    return ([Tiling(int(s), tiles, int(i)) for s, i in zip(split, items, strict=True)],
            Estimate(cycles, energy))


def gather_candidates(splits: Sequence[int], shape: LayerShape, tiles: int, geo: Geometry,
                      ops: SubarrayOpCosts, move: MoveCosts) -> tuple[list[Tiling], Estimate]:
    """Gather layouts, on every subarray: `splits` x pixel tile counts (the fewest, and
    up to eight times as many: smaller tiles fill the columns better) x units per pass
    (as many as fit, or up to three fewer: passes that divide evenly over the subarrays)."""
    rows = []
    for t in sorted({k * tiles for k in range(1, 9) if k * tiles <= shape.pixels}):
        fit = tiles_per_pass(geo.columns, shape.pixels, t)
        rows += [(s, t, c) for s in splits for c in range(fit, max(0, fit - 4), -1)]
    split, tiles_a, per_pass = (np.array(col, dtype=np.int64) for col in zip(*rows, strict=True))
    items = np.full(len(split), geo.subarrays)
    cycles, energy = estimate_gather_many(shape, geo, tiles_a, split, per_pass, items, ops,
                                          move)
    return ([Tiling(int(s), int(t), geo.subarrays, "gather", int(c)) for s, t, c in rows],
            Estimate(cycles, energy))


def ranked_tilings(pixel_splits: Sequence[int], gather_splits: Sequence[int],
                   shape: LayerShape, tiles: int, geo: Geometry, ops: SubarrayOpCosts,
                   move: MoveCosts, objective: str) -> list[Tiling]:
    """Every candidate tiling, best first by the estimate of `objective`."""
    tilings, est = pixel_candidates(pixel_splits, shape, tiles, geo, ops, move)
    if gather_splits:
        more, est_g = gather_candidates(gather_splits, shape, tiles, geo, ops, move)
        tilings += more
        est = Estimate(np.concatenate([est.cycles, est_g.cycles]),
                       np.concatenate([est.energy_pj, est_g.energy_pj]))
    return _ranked(tilings, est.cycles, est.energy_pj, objective)


def ladder(limit: int) -> list[int]:
    return [k for k in LADDER if k <= limit]


def gather_splits(max_splits: int, fan_in: int) -> list[int]:
    """Every part count up to 16, then the ladder: passes are indivisible, so the counts
    that make them divide evenly over the subarrays matter."""
    limit = min(max_splits, fan_in)
    return sorted(set(range(1, min(16, limit) + 1)) | set(ladder(limit)))


def input_stationary(shape: LayerShape, tiles: int, geo: Geometry, ops: SubarrayOpCosts,
                     move: MoveCosts, max_splits: int, objective: str, gather: bool
                     ) -> list[Tiling]:
    slots = (geo.rows - geo.reserved_rows - geo.acc_bits) // geo.activation_bits
    split = math.ceil(shape.fan_in / max(slots, 1))
    more = gather_splits(max_splits, shape.fan_in) if gather else []
    return ranked_tilings([split], more, shape, tiles, geo, ops, move, objective)


def combined_stationary(shape: LayerShape, tiles: int, geo: Geometry, ops: SubarrayOpCosts,
                        move: MoveCosts, max_splits: int, objective: str, gather: bool
                        ) -> list[Tiling]:
    splits = ladder(min(max_splits, shape.fan_in))
    more = gather_splits(max_splits, shape.fan_in) if gather else []
    return ranked_tilings(splits, more, shape, tiles, geo, ops, move, objective)


POLICIES = {
    "input_stationary": input_stationary,
    "combined_stationary": combined_stationary,
}
