"""Photonic mapping: a layer's weight tiles spread over the chip's identical cores.

A layer's matrix is cut into core-sized tiles (rows x cols of the core); each tile is
programmed into the phase shifters (settling time) and then streams all of the layer's
input vectors (symbols at the core's own clock, converted to global cycles with a
ceiling). Tiles are independent, so they are dealt evenly over the cores; multi-level
in-situ generation, when enabled, runs first (its products make the weights). A core's
lanes are its rows x cols MAC cells; a tile keeps busy the cells its weight block covers
(the job's mean per tile, rounded to whole cells).

        core 0: [program t0][stream][program t4][stream] ...
        core 1: [program t1][stream][program t5][stream] ...
"""

from __future__ import annotations

from typing import Any

from imcsim.engine.types import COMPUTE, STEP_COMPUTE, STEP_PROGRAM, Phase, Resource, Step


def core_name(k: int) -> str:
    return f"photonic.core{k}"


def resources(cores: int, cells: int) -> list[Resource]:
    """The cores: compute units whose lanes are their MAC cells."""
    return [Resource(core_name(k), COMPUTE, cells, "photonic") for k in range(cores)]


def layer_phases(layer_index: int, layer_name: str, cost: dict[str, Any], cores: int,
                 cells: int) -> list[Phase]:
    """One engine phase per job of `cost` (from circuits.photonic.layer_cost) on `cores`
    cores of `cells` MAC cells each."""
    phases = []
    for job in cost["jobs"]:
        tiles = int(job["tiles"])
        lanes = max(1, min(cells, round(job["weights"] / tiles)))
        base, extra = divmod(tiles, cores)
        queues: dict[str, list[list[Step]]] = {}
        for k in range(min(cores, tiles)):
            n = base + (1 if k < extra else 0)
            name = core_name(k)
            queues[name] = [[
                Step(name, n * int(job["reprogram_cycles_per_tile"]), STEP_PROGRAM),
                Step(name, n * int(job["compute_cycles_per_tile"]), STEP_COMPUTE,
                     lanes=lanes)]]
        phases.append(Phase(f"{layer_name}/{job['kind']}", layer_index, queues))
    return phases
