"""Run a network on an arch, whatever its design kind:

    workload + arch -> kind.plan (resources with roles, phases of work with exact counts)
                    -> engine (cycles, contention, the job record)
                    -> per-layer cycles and utilisation (from the record, by role)
                       + energy, area and details (kind.costs) -> RunResult
"""

from __future__ import annotations

import numpy as np

from imcsim.designs.base import ArchBase
from imcsim.designs.registry import design_kind
from imcsim.engine import run
from imcsim.engine.types import JobRecord
from imcsim.report.result import LayerResult, RunResult
from imcsim.workload.layer import Network


def busy_lane_cycles(record: JobRecord, n_layers: int) -> np.ndarray:
    """Per layer: lane-cycles the compute units spent computing."""
    layer, start, end, lanes = record.compute_steps()
    out = np.zeros(n_layers, dtype=np.float64)
    np.add.at(out, layer, ((end - start) * lanes).astype(np.float64))
    return out


def simulate(arch: ArchBase, net: Network, progress: bool = False) -> RunResult:
    """Simulate `net` on `arch` (any registered design kind)."""
    kind = design_kind(arch.kind, source=arch.source)
    plan = kind.plan(arch, net, progress)
    engine = run(plan.phases, plan.resources)
    cycles = engine.layer_cycles(len(net.layers))
    costs = plan.costs(cycles, engine)
    busy = busy_lane_cycles(engine.record, len(net.layers))
    lanes_total = engine.record.compute_lanes()
    f = arch.clock.frequency_hz
    layers = []
    for idx, (layer, layer_costs) in enumerate(zip(net.layers, costs.layers, strict=True)):
        cyc = int(cycles[idx])
        layers.append(LayerResult(
            name=layer.name, kind=layer.kind, macs=layer.macs, cycles=cyc, time_s=cyc / f,
            energy_breakdown_j=layer_costs.energy_breakdown_j,
            utilisation=float(busy[idx] / (lanes_total * cyc)) if cyc else 0.0,
            weight_sparsity=layer.weight_sparsity, details=layer_costs.details))
    return RunResult(arch=arch.name, arch_source=arch.source, kind=kind.name, net=net.name,
                     quantizer=net.quantizer, frequency_hz=f, layers=layers,
                     area_breakdown_mm2=costs.area_breakdown_mm2, lanes=kind.lanes,
                     lanes_total=lanes_total, details=costs.details, record=engine.record)
