"""Run a network on an arch, whatever its design kind:

    workload + arch -> kind.plan (resources with roles, phases of work with exact counts)
                    -> engine (cycles, contention, the job record)
                    -> per-layer cycles and utilisation (from the record, by role)
                       + energy, area and details (kind.costs) -> RunResult
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from imcsim.designs.base import ArchBase
from imcsim.designs.registry import design_kind
from imcsim.engine import run
from imcsim.engine.types import JobRecord, StreamPhase
from imcsim.errors import UsageError
from imcsim.periphery import plan as periphery
from imcsim.periphery.dynamic import DynamicMatmul
from imcsim.periphery.placement import place
from imcsim.pipeline import schedule, shared_interval, summary
from imcsim.report.result import LayerResult, OpResult, RunResult
from imcsim.workload.layer import Network


def busy_lane_cycles(record: JobRecord, n_layers: int) -> np.ndarray:
    """Per layer: lane-cycles the compute units spent computing."""
    layer, start, end, lanes = record.compute_steps()
    out = np.zeros(n_layers, dtype=np.float64)
    np.add.at(out, layer, ((end - start) * lanes).astype(np.float64))
    return out


def simulate(arch: ArchBase, net: Network, progress: bool = False,
             batch: int = 1) -> RunResult:
    """Simulate `net` on `arch` (any registered design kind) over `batch` inputs: as
    pipeline stages where the design keeps its weights on chip, else layer by layer with
    the batch's inputs side by side (weights scanned or loaded once per batch)."""
    kind = design_kind(arch.kind, source=arch.source)
    if batch > 1 and kind.may_pipeline:
        single = simulate(arch, net, progress)
        bits = kind.stage_activation_bits(arch, single)
        if bits is not None:
            return pipelined(arch, net, single, batch, bits)
    if batch > 1:
        net = net.batched(batch)
    # before any work: a node with nowhere to run fails here
    placed = place(arch, net, kind.dynamic_operands(arch))
    plan = kind.plan(arch, net, progress)
    n = len(net.layers)
    unit = arch.vector_unit
    table = [*plan.resources, *(periphery.resources(unit) if unit is not None else [])]
    names = [r.name for r in table]
    vector_phases: list[StreamPhase] = []
    vector_costs: list[periphery.OpCost] = []
    if unit is not None:
        vector_phases, vector_costs = periphery.phases(placed, arch, names, n, net.batch)
    on_arrays = [p for p in placed if p.place == "arrays"]
    first = n + len(vector_phases)
    dynamic = [kind.dynamic_matmul(arch, net, p.work, names, first + j)
               for j, p in enumerate(on_arrays)]
    phases = [*plan.phases, *vector_phases, *(d.phase for d in dynamic)]
    engine = run(phases, table)
    n_all = first + len(dynamic)
    all_cycles = engine.layer_cycles(n_all)
    cycles = all_cycles[:n]
    costs = plan.costs(cycles, engine)
    busy = busy_lane_cycles(engine.record, n_all)
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
    on_unit = [p for p in placed if p.place == "vector_unit"]
    ops = [OpResult(p.work.name, p.work.op, p.work.kind, p.work.macs * net.batch,
                    p.work.elements * net.batch, int(cyc), int(cyc) / f,
                    {k: v * 1e-12 for k, v in c.energy_pj.items()})
           for p, c, cyc in zip(on_unit, vector_costs, all_cycles[n:first], strict=True)]
    ops += [OpResult(p.work.name, p.work.op, p.work.kind, p.work.macs * net.batch,
                     p.work.elements * net.batch, int(cyc), int(cyc) / f,
                     {k: v * 1e-12 for k, v in d.energy_pj.items()}, unit="arrays",
                     details=_dynamic_details(d))
            for p, d, cyc in zip(on_arrays, dynamic, all_cycles[first:], strict=True)]
    area = dict(costs.area_breakdown_mm2)
    run_energy: dict[str, float] = {}
    if arch.vector_unit is not None:
        if area:
            area["vector_unit"] = arch.vector_unit.area_mm2
        total_s = (int(cycles.sum()) + sum(op.cycles for op in ops)) / f
        run_energy["vector_unit_leakage"] = arch.vector_unit.leakage_w * total_s
    return RunResult(arch=arch.name, arch_source=arch.source, kind=kind.name, net=net.name,
                     quantizer=net.quantizer, frequency_hz=f, layers=layers,
                     area_breakdown_mm2=area, lanes=kind.lanes,
                     lanes_total=lanes_total, details=costs.details, record=engine.record,
                     batch=net.batch, ops=ops, run_energy_j=run_energy)


def _dynamic_details(d: DynamicMatmul) -> dict[str, Any]:
    """What a report says of a matmul written into the arrays: its writes and, where the
    technology limits them, the inferences a cell survives at this rate."""
    out: dict[str, Any] = {**d.details, "written_bits": d.written_bits,
                           "writes_per_cell": d.writes_per_cell}
    if d.endurance is not None:
        out["endurance_writes"] = d.endurance
        out["inferences_to_endurance"] = (d.endurance / d.writes_per_cell
                                          if d.writes_per_cell else None)
    return out


def pipelined(arch: ArchBase, net: Network, single: RunResult, batch: int,
              bits: int) -> RunResult:
    """`batch` inputs through the layers as pipeline stages (`imcsim.pipeline`), from the
    single-input run: each stage busy `batch` times its single-input cycles at its
    single-input energy, the chip's leakage over the pipelined run's length."""
    if single.ops:
        raise UsageError("a pipelined batch with work on the vector unit is not modelled yet "
                         "(run --batch 1, or place that work in the periphery)", key="batch")
    entry, shared = shared_interval(single.record)
    capacity = [arch.pipeline.stage_buffer_inputs] * (len(net.layers) - 1)
    sched = schedule([la.cycles for la in single.layers], capacity, batch, entry)
    bits_per_input = [layer.out_channels * layer.out_hw[0] * layer.out_hw[1] * bits
                      for layer in net.layers]
    f = arch.clock.frequency_hz
    stretch = sched.cycles / single.cycles if single.cycles else 0.0
    layers = []
    for la in single.layers:
        energy = {k: v * (stretch if k == "leakage" else batch)
                  for k, v in la.energy_breakdown_j.items()}
        layers.append(dataclasses.replace(la, macs=la.macs * batch, cycles=la.cycles * batch,
                                          time_s=la.time_s * batch,
                                          energy_breakdown_j=energy))
    return dataclasses.replace(
        single, layers=layers, batch=batch, schedule=sched,
        pipeline=summary(sched, [la.name for la in net.layers], bits_per_input, shared, f))
