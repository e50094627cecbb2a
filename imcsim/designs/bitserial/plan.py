"""Planning a network on a bit-serial design: each layer's tiling (by the arch's mapping
policy) and work items with exact operation counts, as engine phases on the chip's
resources, and the energy of the run once the engine has timed it.

    per bank b: its controller, its bus, then its subarrays (compute units whose lanes
    are the subarray's columns); item i runs on its subarray while its bank's controller
    walks the weights and its bank's bus moves the data (a stream, in that order)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imcsim.circuits.costs import SubarrayOpCosts
from imcsim.designs.bitserial.costs import (
    ENERGY_CATEGORIES,
    WORK_KINDS,
    ItemCosts,
    area_breakdown_mm2,
    sa_level,
    static_power_w,
    subarray_op_costs,
)
from imcsim.designs.bitserial.mapping.estimate import Estimate, LayerShape, MoveCosts
from imcsim.designs.bitserial.mapping.layouts import layer_items
from imcsim.designs.bitserial.mapping.policies import OBJECTIVES, POLICIES
from imcsim.designs.bitserial.mapping.tiling import (
    Geometry,
    LayerItems,
    Tiling,
    UnitCosts,
    check_fits,
    min_tiles,
)
from imcsim.designs.bitserial.schema import BitSerialArch
from imcsim.designs.protocol import LayerCosts, Plan, RunCosts
from imcsim.engine.types import (
    BUS,
    COMPUTE,
    CONTROLLER,
    STEP_COMPUTE,
    STEP_TRANSFER,
    STEP_WEIGHTS,
    EngineResult,
    Resource,
    StreamPhase,
)
from imcsim.workload.layer import ComputeLayer, Network


@dataclass
class LayerPlan:
    layer: ComputeLayer
    tiling: Tiling
    phases: list[LayerItems]
    costs: list[ItemCosts] = field(default_factory=list)  # per phase, once costed

    def item_costs(self, arch: BitSerialArch, ops: SubarrayOpCosts) -> list[ItemCosts]:
        """Each phase's step cycles and energy (computed once)."""
        if not self.costs:
            self.costs = [ItemCosts(items, arch, ops) for items in self.phases]
        return self.costs


def geometry(arch: BitSerialArch, ops: SubarrayOpCosts) -> Geometry:
    return Geometry(
        rows=arch.chip.rows,
        columns=arch.chip.columns,
        subarrays=arch.subarrays,
        activation_bits=arch.datatypes.activation_bits,
        acc_bits=arch.datatypes.accumulator_bits,
        reserved_rows=ops.reserved_rows,
        sparse=arch.controller.sparse_addition_control,
        sparse_loads=(arch.controller.sparse_addition_control
                      and arch.controller.skip_unused_activations),
        broadcast=arch.mapping.broadcast_activations,
        balance=arch.mapping.balance_channels,
        cut=arch.mapping.cut_channels,
        per_bank=arch.chip.subarrays_per_bank,
    )


def move_costs(arch: BitSerialArch) -> MoveCosts:
    return MoveCosts(
        bus_bits_per_cycle=arch.bus.bits_per_cycle, banks=arch.chip.banks,
        pj_per_bit_in=arch.buffer.read_energy_pj_per_bit + arch.bus.energy_pj_per_bit,
        pj_per_bit_out=arch.buffer.write_energy_pj_per_bit + arch.bus.energy_pj_per_bit,
        static_pj_per_cycle=static_power_w(arch) / arch.clock.frequency_hz * 1e12)


def plan_layer(layer: ComputeLayer, arch: BitSerialArch, ops: SubarrayOpCosts,
               density: float) -> LayerPlan:
    """Choose the tiling of `layer` by the arch's mapping policy and cost it exactly: the
    policy ranks its candidates by closed-form estimates; the best `exact_candidates` of
    them are costed from the real weights and timed on the engine, and the best by the
    arch's objective is kept (ties: the estimate's order)."""
    geo = geometry(arch, ops)
    check_fits(layer, geo, arch.source)
    shape = LayerShape(layer.fan_in, layer.out_channels, layer.out_pixels, layer.groups,
                       density)
    policy = POLICIES[arch.mapping.kind]
    ranked = policy(shape, min_tiles(layer.out_pixels, geo.columns), geo, ops,
                    move_costs(arch), arch.mapping.max_input_splits, arch.mapping.objective,
                    arch.mapping.gather_channels)
    shortlist = ranked[:arch.mapping.exact_candidates]
    unit = UnitCosts(ops.add.cycles, ops.load_row.cycles, ops.reset_row.cycles,
                     ops.readout_row.cycles)
    best: tuple[float, LayerPlan] | None = None
    table = resources(arch)
    for tiling in shortlist:
        plan = LayerPlan(layer, tiling, layer_items(layer, geo, tiling, unit, arch.chip.banks))
        if len(shortlist) == 1:
            return plan
        cycles, energy_pj = exact_figures(plan, arch, ops, table)
        score = float(OBJECTIVES[arch.mapping.objective](
            Estimate(np.asarray(cycles), np.asarray(energy_pj))))
        if best is None or score < best[0]:
            best = (score, plan)
    assert best is not None  # a policy ranks at least one candidate
    return best[1]


def side_by_side(plan: LayerPlan) -> int:
    """Units sharing a subarray's columns in the main phase: output channels (gather
    layout), or 1 (one pixel per column)."""
    units = plan.phases[0].units
    return units.per_pass if units is not None else 1


def exact_figures(plan: LayerPlan, arch: BitSerialArch, ops: SubarrayOpCosts,
                  table: list[Resource] | None = None) -> tuple[int, float]:
    """A layer plan's cycles (as the engine times them: in closed form where FIFO order is
    item order, `engine.makespan`, else on the engine) and energy (pJ, the chip's leakage
    over those cycles included)."""
    from imcsim.engine.core import run
    from imcsim.engine.makespan import makespan

    table = table or resources(arch)
    names = [r.name for r in table]
    cycles, energy_j = 0, 0.0
    for items, costs in zip(plan.phases, plan.item_costs(arch, ops), strict=True):
        phase = build_phase(items.phase, 0, items, costs, arch, names)
        length = makespan(phase)
        cycles += run([phase], table).cycles if length is None else length
        energy_j += sum(costs.energy_j.values())
    energy_j += static_power_w(arch) * cycles / arch.clock.frequency_hz
    return cycles, energy_j * 1e12


def resources(arch: BitSerialArch) -> list[Resource]:
    """Per bank: its controller, its bus, then its subarrays (build_phase relies on it)."""
    out = []
    for b in range(arch.chip.banks):
        group = f"bank {b}"
        out += [Resource(f"bank{b}.ctrl", CONTROLLER, 1, group),
                Resource(f"bank{b}.bus", BUS, 1, group)]
        out += [Resource(f"bank{b}.sub{s}", COMPUTE, arch.chip.columns, group)
                for s in range(arch.chip.subarrays_per_bank)]
    return out


def resource_indices(subarray: np.ndarray, per_bank: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices in `resources` of each subarray's bank controller (its bus is the next
    one) and of the subarray itself: bank b holds ctrl, bus, then its subarrays."""
    sub = np.asarray(subarray, dtype=np.int64)
    ctrl = sub // per_bank * (per_bank + 2)
    return ctrl, ctrl + 2 + sub % per_bank


def build_phase(name: str, layer_index: int, items: LayerItems, costs: ItemCosts,
                arch: BitSerialArch, names: list[str]) -> StreamPhase:
    """One engine phase, as arrays: item i runs on its subarray (a queue of its own) on
    its `lanes` columns while its bank's controller walks the weights and its bank's bus
    moves the data (a stream, in that order). Resources index `names`."""
    ctrl, unit = resource_indices(items.subarray, arch.chip.subarrays_per_bank)
    return StreamPhase(name, layer_index, names, (STEP_WEIGHTS, STEP_TRANSFER, STEP_COMPUTE),
                       np.stack([ctrl, ctrl + 1], axis=1),
                       np.stack([costs.ctrl, costs.bus_in + costs.bus_out], axis=1),
                       np.asarray((0, 1)), unit, costs.compute,
                       np.asarray(2),
                       np.asarray(items.lanes, dtype=np.int64))


def plan_network(arch: BitSerialArch, net: Network, progress: bool = False) -> Plan:
    """Every layer's tiling and work items as engine phases; costs once timed."""
    from imcsim.report.progress import progress as bar

    ops = subarray_op_costs(arch)
    table = resources(arch)
    names = [r.name for r in table]
    plans: list[LayerPlan] = []
    phases: list[StreamPhase] = []
    phase_costs: list[list[tuple[LayerItems, ItemCosts]]] = []
    layers_iter = bar(net.layers, len(net.layers), f"{arch.name}: planning", progress,
                      unit="layer")
    for idx, layer in enumerate(layers_iter):
        plan = plan_layer(layer, arch, ops, layer.nonzero_weights / layer.weight_count)
        plans.append(plan)
        per_layer = []
        for items, costs in zip(plan.phases, plan.item_costs(arch, ops), strict=True):
            phases.append(build_phase(f"{layer.name}/{items.phase}", idx, items, costs, arch,
                                      names))
            per_layer.append((items, costs))
        phase_costs.append(per_layer)

    def run_costs(layer_cycles: np.ndarray, engine: EngineResult) -> RunCosts:
        f = arch.clock.frequency_hz
        leak = static_power_w(arch)
        layers = []
        for plan, per_layer, cyc in zip(plans, phase_costs, layer_cycles, strict=True):
            energy = dict.fromkeys(ENERGY_CATEGORIES, 0.0)
            adds = scanned = 0.0
            work_cycles = dict.fromkeys(WORK_KINDS, 0.0)
            work_energy = dict.fromkeys(WORK_KINDS, 0.0)
            for items, costs in per_layer:
                for k, v in costs.energy_j.items():
                    energy[k] += v
                for k in WORK_KINDS:
                    work_cycles[k] += costs.work_cycles[k]
                    work_energy[k] += costs.work_energy_j[k]
                adds += float(items.adds.sum())
                if items.phase == "main":
                    scanned += float(items.weights_scanned.sum())
            main_adds = per_layer[0][0].weight_additions()
            energy["leakage"] += leak * int(cyc) / f
            details: dict[str, Any] = {"adds": int(adds)}
            if arch.controller.sparse_addition_control:
                details["skipped"] = int(scanned - main_adds)
                details["weight_additions"] = main_adds
            details["mapping"] = {"layout": plan.tiling.layout,
                                  "split": plan.tiling.split, "tiles": plan.tiling.tiles,
                                  "items": sum(len(items) for items, _ in per_layer),
                                  "side_by_side": side_by_side(plan)}
            details["work_cycles"] = work_cycles
            details["work_energy_j"] = work_energy
            layers.append(LayerCosts(energy, details))
        return RunCosts(layers, area_breakdown_mm2(arch),
                        {"subarrays": arch.subarrays, "sa_level": sa_level(arch, ops)})

    return Plan(table, list(phases), run_costs)


__all__ = ["LayerItems", "LayerPlan", "Tiling", "geometry", "plan_layer", "plan_network"]
