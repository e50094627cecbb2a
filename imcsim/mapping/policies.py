"""Mapping policies: how each dataflow chooses its tiling of a layer.

input_stationary (ParaPIM's mapping)
    Activations stay: the fan-in is cut into the fewest parts that fit beside one
    accumulator; every output channel is run against the resident part and its partial
    sum read out at once, then reduced. Output channels are spread to fill the chip.

        subarray k:  [ act part k (resident) ] [ acc ]  -> partial sums of all o, part k
        reduction:   sum_k partial(o, k)

combined_stationary (FAT's mapping)
    Activations stay where they fit, outputs stay where they do not: a search over the
    number of fan-in parts and the output-group size picks, per layer, the tiling that
    minimises the configured objective (time, energy or their product), trading activation reloads (output-stationary rounds) against partial-sum traffic and
    reduction (input-stationary parts) and against idle subarrays.

        split = 1:   [ acts stream through ] [ acc_0 .. acc_g-1 stay ]  (no reduction)
        split > 1:   parts as in input_stationary, fewer and wider
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from imcsim.circuits.costs import SubarrayOpCosts
from imcsim.mapping.estimate import MoveCosts, estimate
from imcsim.mapping.tiling import Geometry, Tiling


# A geometric ladder of counts (fan-in parts, output groups) the searches try.
LADDER = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024)


def group_candidates(cout: int, tiles: int, split: int, subarrays: int) -> list[int]:
    """Output-group sizes worth trying: those whose item count fills whole waves of the
    chip (items = tiles x split x groups close to a multiple of the subarray count), and a
    geometric ladder of fewer, larger groups (more reuse of each activation load)."""
    sizes = {math.ceil(cout / k) for k in LADDER if k <= cout}
    for waves in range(1, 5):
        groups = max(1, min(cout, (waves * subarrays) // (tiles * split)))
        sizes.add(math.ceil(cout / groups))
    return sorted(sizes)


OBJECTIVES = {
    "time": lambda e: e.cycles,
    "energy": lambda e: e.energy_pj,
    "edp": lambda e: e.cycles * e.energy_pj,
}


def best_tiling(splits: Sequence[int], fan_in: int, cout: int, tiles: int, density: float,
                geo: Geometry, ops: SubarrayOpCosts, move: MoveCosts, objective: str) -> Tiling:
    """The tiling minimising `objective` among `splits` x chip-filling group sizes."""
    score = OBJECTIVES[objective]
    best: tuple[float, int, int] | None = None
    for split in splits:
        for group in group_candidates(cout, tiles, split, geo.subarrays):
            est = estimate(fan_in, cout, tiles, density, geo, Tiling(split, group), ops, move)
            key = (score(est), split, group)
            if best is None or key < best:
                best = key
    assert best is not None
    return Tiling(best[1], best[2])


def input_stationary(fan_in: int, cout: int, tiles: int, density: float, geo: Geometry,
                     ops: SubarrayOpCosts, move: MoveCosts, max_splits: int,
                     objective: str) -> Tiling:
    slots = (geo.rows - geo.reserved_rows - geo.acc_bits) // geo.activation_bits
    split = math.ceil(fan_in / max(slots, 1))
    return best_tiling([split], fan_in, cout, tiles, density, geo, ops,
                       move, objective)


def combined_stationary(fan_in: int, cout: int, tiles: int, density: float, geo: Geometry,
                        ops: SubarrayOpCosts, move: MoveCosts, max_splits: int,
                        objective: str) -> Tiling:
    splits = [k for k in LADDER if k <= min(max_splits, fan_in)]
    return best_tiling(splits, fan_in, cout, tiles, density, geo, ops, move, objective)


POLICIES = {
    "input_stationary": input_stationary,
    "combined_stationary": combined_stationary,
}
