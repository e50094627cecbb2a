"""The vector unit's work as engine phases, and its cost once timed.

Each node placed on the unit is one phase (after the weight layers' phases; phases are
separated by barriers, so their order does not change the total): its data stream over
the unit's link while the unit computes,

    compute = ceil(sum_class n_class x cycles_per_element_class / lanes x f / f_unit)
    link    = ceil(moved elements x element_bits / link_bits_per_cycle)
    energy  = sum_class n_class x energy_pj_per_element_class + moved bits x link pJ/bit

with n_class from `work.class_counts` (per MAC for an attention matmul), f the global
clock and f_unit the unit's. The unit leaks `leakage_w` over the whole run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from imcsim.engine.types import BUS, COMPUTE, STEP_COMPUTE, STEP_TRANSFER, Resource, StreamPhase
from imcsim.periphery.placement import Placed
from imcsim.periphery.schema import VectorUnit, WithPeriphery
from imcsim.periphery.work import class_counts, moved_elements

UNIT, LINK = "vector", "vector.link"
PJ = 1e-12


def resources(unit: VectorUnit) -> list[Resource]:
    return [Resource(UNIT, COMPUTE, unit.lanes, "vector unit"),
            Resource(LINK, BUS, 1, "vector unit")]


@dataclass(frozen=True)
class OpCost:
    compute_cycles: int
    link_cycles: int
    energy_pj: dict[str, float]  # "vector_unit" (the work), "vector_link"


def op_cost(placed: Placed, unit: VectorUnit, frequency_hz: float, batch: int) -> OpCost:
    counts = class_counts(placed.work, batch)
    unit_cycles = sum(n * getattr(unit.cycles_per_element, c) for c, n in counts.items())
    compute = math.ceil(unit_cycles / unit.lanes * frequency_hz / unit.clock_hz)
    bits = moved_elements(placed.work, batch) * unit.element_bits
    link = math.ceil(bits / unit.link_bits_per_cycle)
    work = sum(n * getattr(unit.energy_pj_per_element, c) for c, n in counts.items())
    return OpCost(max(compute, 1), link,
                  {"vector_unit": work, "vector_link": bits * unit.link_energy_pj_per_bit})


def phases(placed: list[Placed], arch: WithPeriphery, names: list[str], first_layer: int,
           batch: int) -> tuple[list[StreamPhase], list[OpCost]]:
    """One phase per node on the unit (layer indices from `first_layer`), and costs."""
    unit = arch.vector_unit
    assert unit is not None  # nodes are placed on a unit only if the arch has one
    link, vec = names.index(LINK), names.index(UNIT)
    out, costs = [], []
    for j, p in enumerate(q for q in placed if q.place == "vector_unit"):
        c = op_cost(p, unit, arch.clock.frequency_hz, batch)
        costs.append(c)
        out.append(StreamPhase(f"{p.work.name}/vector", first_layer + j, names,
                               (STEP_TRANSFER, STEP_COMPUTE), np.array([[link]]),
                               np.array([[c.link_cycles]]), np.asarray(0), np.array([vec]),
                               np.array([c.compute_cycles]), np.asarray(1),
                               np.array([unit.lanes])))
    return out, costs


__all__ = ["LINK", "UNIT", "OpCost", "op_cost", "phases", "resources"]
