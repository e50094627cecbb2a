"""A layer's work items under its tiling's layout: the main phase (pixel or gather
layout) and, when some output has several partial sums, the reduction phase."""

from __future__ import annotations

import numpy as np

from imcsim.designs.bitserial.mapping.gather import gather_items
from imcsim.designs.bitserial.mapping.tiling import (
    Geometry,
    LayerItems,
    Tiling,
    UnitCosts,
    main_items,
    reduction_items,
)
from imcsim.workload.layer import ComputeLayer

MAIN_PHASES = {"pixel": main_items, "gather": gather_items}


def layer_items(layer: ComputeLayer, geo: Geometry, tiling: Tiling, unit: UnitCosts,
                banks: int) -> list[LayerItems]:
    """Exact work items of `layer` under `tiling`: the main phase and, if some output has
    several partial sums (fan-in parts, or a channel cut between items), the reduction."""
    main, partials = MAIN_PHASES[tiling.layout](layer, geo, tiling, unit, banks)
    if not np.any(partials > 1):
        return [main]
    return [main, reduction_items(layer, geo, tiling, banks, partials)]
