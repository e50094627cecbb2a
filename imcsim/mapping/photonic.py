"""Photonic mapping: a layer's weight tiles spread over the chip's identical cores.

A layer's matrix is cut into core-sized tiles (rows x cols of the core); each tile is
programmed into the phase shifters (settling time) and then streams all of the layer's
input vectors (symbols at the core's own clock, converted to global cycles with a
ceiling). Tiles are independent, so they are dealt evenly over the cores; multi-level
in-situ generation, when enabled, runs first (its products make the weights).

        core 0: [program t0][stream][program t4][stream] ...
        core 1: [program t1][stream][program t5][stream] ...
"""

from __future__ import annotations

from typing import Any

from imcsim.engine import Phase, Step


def core_name(k: int) -> str:
    return f"photonic.core{k}"


def layer_phases(layer_index: int, layer_name: str, cost: dict[str, Any], cores: int
                 ) -> list[Phase]:
    """One engine phase per job of `cost` (from circuits.photonic.layer_cost)."""
    phases = []
    for job in cost["jobs"]:
        tiles = int(job["tiles"])
        base, extra = divmod(tiles, cores)
        queues: dict[str, list[list[Step]]] = {}
        for k in range(min(cores, tiles)):
            n = base + (1 if k < extra else 0)
            name = core_name(k)
            queues[name] = [[Step(name, n * int(job["reprogram_cycles_per_tile"]), "program"),
                             Step(name, n * int(job["compute_cycles_per_tile"]), job["kind"])]]
        phases.append(Phase(f"{layer_name}/{job['kind']}", layer_index, queues))
    return phases
