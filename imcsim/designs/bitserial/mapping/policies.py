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
from imcsim.designs.bitserial.mapping.estimate import Estimate, LayerShape, MoveCosts, estimate_many
from imcsim.designs.bitserial.mapping.tiling import Geometry, Tiling

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


def best_tiling(splits: Sequence[int], shape: LayerShape, tiles: int, geo: Geometry,
                ops: SubarrayOpCosts, move: MoveCosts, objective: str) -> Tiling:
    """The tiling minimising `objective` among `splits` x item counts (ties: fewer
    parts, then more items)."""
    counts = item_candidates(geo.subarrays)
    split = np.repeat(np.asarray(splits, dtype=np.int64), len(counts))
    items = np.tile(np.asarray(counts, dtype=np.int64), len(splits))
    cycles, energy = estimate_many(shape, geo, tiles, split, items, ops, move)
    score = OBJECTIVES[objective](Estimate(cycles, energy))
    best = np.lexsort((-items, split, score))[0]
    return Tiling(int(split[best]), tiles, int(items[best]))


def input_stationary(shape: LayerShape, tiles: int, geo: Geometry, ops: SubarrayOpCosts,
                     move: MoveCosts, max_splits: int, objective: str) -> Tiling:
    slots = (geo.rows - geo.reserved_rows - geo.acc_bits) // geo.activation_bits
    split = math.ceil(shape.fan_in / max(slots, 1))
    return best_tiling([split], shape, tiles, geo, ops, move, objective)


def combined_stationary(shape: LayerShape, tiles: int, geo: Geometry, ops: SubarrayOpCosts,
                        move: MoveCosts, max_splits: int, objective: str) -> Tiling:
    splits = [k for k in LADDER if k <= min(max_splits, shape.fan_in)]
    return best_tiling(splits, shape, tiles, geo, ops, move, objective)


POLICIES = {
    "input_stationary": input_stationary,
    "combined_stationary": combined_stationary,
}
