"""Run a network on an arch: plan every layer, cost its work items, run the engine.

    workload + arch -> mapping (tilings, exact op counts) -> placement -> engine phases
                    -> per-layer cycles (engine) + energy (counts x YAML costs) -> RunResult
"""

from __future__ import annotations

import numpy as np

from imcsim.arch.schema import Arch
from imcsim.circuits.costs import SubarrayOpCosts, static_power_w
from imcsim.engine import Phase, StreamPhase, run
from imcsim.mapping import LayerPlan, plan_layer
from imcsim.mapping.tiling import LayerItems
from imcsim.report.result import ENERGY_CATEGORIES, LayerResult, RunResult
from imcsim.workload.layer import Network

PJ = 1e-12
WORK_KINDS = ("add", "load", "reset", "readout", "reduce")


def ceil_div(a: np.ndarray, b: float) -> np.ndarray:
    return np.ceil(a / b - 1e-12).astype(np.int64)


class ItemCosts:
    """Cycles of each engine step and energy by category for the items of one phase."""

    def __init__(self, items: LayerItems, arch: Arch, ops: SubarrayOpCosts):
        self.compute = (items.load_rows * ops.load_row.cycles
                        + items.reset_rows * ops.reset_row.cycles
                        + items.adds * ops.add.cycles
                        + items.readout_rows * ops.readout_row.cycles)
        self.ctrl = ceil_div(items.weights_scanned, arch.controller.weights_per_cycle)
        self.bus_in = ceil_div(items.bus_in_bits, arch.bus.bits_per_cycle)
        self.bus_out = ceil_div(items.bus_out_bits, arch.bus.bits_per_cycle)
        # idle columns are not precharged: energy scales with the lanes each op runs on
        energy = dict.fromkeys(ENERGY_CATEGORIES, 0.0)
        # subarray work by kind (busy cycles summed over items, dynamic energy): what the
        # comparison's decomposition reads; a reduction phase's work is all "reduce"
        self.work_cycles = dict.fromkeys(WORK_KINDS, 0.0)
        self.work_energy_j = dict.fromkeys(WORK_KINDS, 0.0)
        for kind, count, lane_ops, op in (
                ("load", items.load_rows, items.lane_load_rows, ops.load_row),
                ("reset", items.reset_rows, items.lane_reset_rows, ops.reset_row),
                ("add", items.adds, items.lane_adds, ops.add),
                ("readout", items.readout_rows, items.lane_readout_rows, ops.readout_row)):
            total = float(lane_ops.sum())
            for cat, pj in op.energy_pj.items():
                energy[cat] += total * pj * PJ
            key = "reduce" if items.phase == "reduce" else kind
            self.work_cycles[key] += float(count.sum()) * op.cycles
            self.work_energy_j[key] += total * op.energy_total_pj * PJ
        in_bits, out_bits = float(items.bus_in_bits.sum()), float(items.bus_out_bits.sum())
        scanned = float(items.weights_scanned.sum())
        buf = arch.buffer
        energy["buffers"] += (in_bits * buf.read_energy_pj_per_bit
                              + out_bits * buf.write_energy_pj_per_bit
                              + scanned * arch.datatypes.weight_bits
                              * buf.read_energy_pj_per_bit) * PJ
        energy["interconnect"] += (in_bits + out_bits) * arch.bus.energy_pj_per_bit * PJ
        energy["controller"] += scanned * arch.controller.energy_pj_per_weight * PJ
        self.energy_j = energy


def area_breakdown_mm2(arch: Arch) -> dict[str, float]:
    chip, tech = arch.chip, arch.technology
    um2 = 1e-6
    cells = arch.subarrays * chip.rows * chip.columns * tech.cell_area_um2
    return {
        "array": cells * (1 + tech.array_periphery_area_factor) * um2,
        "sense_amplifiers": arch.subarrays * chip.columns * arch.sense_amp.area_um2 * um2,
        "controller": chip.banks * arch.controller.area_mm2,
        "buffers": arch.buffer.area_mm2,
    }


def sa_level(arch: Arch, ops: SubarrayOpCosts) -> dict[str, float]:
    """One accumulator-wide addition in one column: time, energy, power, SA area."""
    t = ops.add.cycles / arch.clock.frequency_hz
    e = ops.add.energy_total_pj * PJ
    return {"add_bits": ops.acc_bits, "add_cycles": ops.add.cycles, "add_time_s": t,
            "add_energy_j": e, "add_power_w": e / t, "sa_area_um2": arch.sense_amp.area_um2}


def build_phase(name: str, layer_index: int, items: LayerItems, costs: ItemCosts,
                arch: Arch) -> StreamPhase:
    """One engine phase, as arrays: item i runs on its subarray (a queue of its own) while
    its bank's controller walks the weights and its bank's bus moves the data (a stream,
    in that order). Resources index `resource_names(arch)`."""
    per_bank = arch.chip.subarrays_per_bank
    sub = np.asarray(items.subarray, dtype=np.int64)
    ctrl = sub // per_bank * (per_bank + 2)  # bank b: ctrl, bus, then its subarrays
    return StreamPhase(name, layer_index, resource_names(arch),
                       ("weights", "transfer", "compute"),
                       np.stack([ctrl, ctrl + 1], axis=1),
                       np.stack([costs.ctrl, costs.bus_in + costs.bus_out], axis=1),
                       (0, 1), ctrl + 2 + sub % per_bank, costs.compute, 2)


def resource_names(arch: Arch) -> list[str]:
    """Per bank: its controller, its bus, then its subarrays (build_phase relies on it)."""
    names = []
    for b in range(arch.chip.banks):
        names += [f"bank{b}.ctrl", f"bank{b}.bus"]
        names += [f"bank{b}.sub{s}" for s in range(arch.chip.subarrays_per_bank)]
    return names


def simulate(arch: Arch, net: Network, progress: bool = False) -> RunResult:
    """Simulate `net` on `arch` (a digital bit-serial design, a photonic or an analog one)."""
    if arch.kind == "photonic":
        from imcsim.simulate_photonic import simulate_photonic

        return simulate_photonic(arch, net)
    if arch.kind == "analog":
        from imcsim.simulate_analog import simulate_analog

        return simulate_analog(arch, net)
    ops = SubarrayOpCosts.from_arch(arch)
    plans: list[LayerPlan] = []
    phases: list[Phase | StreamPhase] = []
    phase_costs: list[list[tuple[LayerItems, ItemCosts]]] = []
    nonzeros: list[int] = []
    from imcsim.report.progress import progress as bar

    layers_iter = bar(net.layers, len(net.layers), f"{arch.name}: planning", progress,
                      unit="layer")
    for idx, layer in enumerate(layers_iter):
        nonzero = int(np.count_nonzero(layer.weights))
        nonzeros.append(nonzero)
        plan = plan_layer(layer, arch, ops, nonzero / layer.weight_count)
        plans.append(plan)
        per_layer = []
        for items in plan.phases:
            costs = ItemCosts(items, arch, ops)
            phases.append(build_phase(f"{layer.name}/{items.phase}", idx, items, costs, arch))
            per_layer.append((items, costs))
        phase_costs.append(per_layer)
    engine = run(phases, resource_names(arch))
    layer_cycles = engine.layer_cycles(len(net.layers))
    f = arch.clock.frequency_hz
    leak = static_power_w(arch)
    layers = []
    for idx, (plan, per_layer) in enumerate(zip(plans, phase_costs, strict=True)):
        layer, cyc = plan.layer, int(layer_cycles[idx])
        energy = dict.fromkeys(ENERGY_CATEGORIES, 0.0)
        adds = scanned = busy = 0.0
        work_cycles = dict.fromkeys(WORK_KINDS, 0.0)
        work_energy = dict.fromkeys(WORK_KINDS, 0.0)
        for items, costs in per_layer:
            for k, v in costs.energy_j.items():
                energy[k] += v
            for k in WORK_KINDS:
                work_cycles[k] += costs.work_cycles[k]
                work_energy[k] += costs.work_energy_j[k]
            adds += float(items.adds.sum())
            busy += float((costs.compute * items.lanes).sum()) / arch.chip.columns
            if items.phase == "main":
                scanned += float(items.weights_scanned.sum())
        main_adds = float(per_layer[0][0].adds.sum())
        energy["leakage"] += leak * cyc / f
        sparsity = 1.0 - nonzeros[idx] / layer.weight_count
        layers.append(LayerResult(
            name=layer.name, kind=layer.kind, macs=layer.macs, cycles=cyc, time_s=cyc / f,
            energy_breakdown_j=energy,
            utilisation=busy / (arch.subarrays * cyc) if cyc else 0.0,
            weight_sparsity=float(sparsity), adds=int(adds),
            skipped=int(scanned - main_adds) if arch.controller.sparse_addition_control else 0,
            split=plan.tiling.split, tiles=plan.tiling.tiles,
            items=sum(len(items) for items, _ in per_layer),
            extra={"work_cycles": work_cycles, "work_energy_j": work_energy}))
    return RunResult(arch=arch.name, arch_source=arch.source, net=net.name,
                     quantizer=net.quantizer, frequency_hz=f, layers=layers,
                     area_breakdown_mm2=area_breakdown_mm2(arch), sa_level=sa_level(arch, ops),
                     record=engine.record, extra={"subarrays": arch.subarrays})
