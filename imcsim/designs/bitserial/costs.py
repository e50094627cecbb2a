"""Costs of a bit-serial design: per-primitive cycles and energies from its YAML, the
work items' engine steps and energy by category, area, leakage and the SA-level figure.

    cycles(op) = sum_k count_k(op) * ceil(t_k f_clk)        (micro-program counts)
    energy     = sum over ops of lane-ops x E_op + bits moved x (buffer + bus) energies
                 + weights scanned x controller energy + static power x time
"""

from __future__ import annotations

from imcsim.circuits.costs import PrimitiveCosts, SubarrayOpCosts
from imcsim.designs.bitserial.mapping.tiling import LayerItems
from imcsim.designs.bitserial.schema import BitSerialArch
from imcsim.units import ceil_cycles_array

PJ = 1e-12
ENERGY_CATEGORIES = ("array", "sense_amplifiers", "controller", "buffers", "interconnect",
                     "leakage")
WORK_KINDS = ("add", "load", "reset", "readout", "reduce")


def primitive_costs(arch: BitSerialArch) -> PrimitiveCosts:
    return PrimitiveCosts.from_sections(arch.technology, arch.sense_amp,
                                        arch.clock.frequency_hz)


def subarray_op_costs(arch: BitSerialArch) -> SubarrayOpCosts:
    """The costs of the operations the mappings are made of, for `arch`."""
    return SubarrayOpCosts.build(primitive_costs(arch), arch.sense_amp.kind,
                                 arch.datatypes.accumulator_bits,
                                 arch.technology.load_write_energy_pj_per_bit)


def static_power_w(arch: BitSerialArch) -> float:
    """Leakage of the whole chip (W): subarrays, sense amplifiers, controllers, buffer."""
    chip, tech = arch.chip, arch.technology
    return (arch.subarrays * tech.leakage_w_per_subarray
            + arch.subarrays * chip.columns * arch.sense_amp.leakage_w_per_column
            + chip.banks * arch.controller.leakage_w
            + arch.buffer.leakage_w)


class ItemCosts:
    """Cycles of each engine step and energy by category for the items of one phase."""

    def __init__(self, items: LayerItems, arch: BitSerialArch, ops: SubarrayOpCosts):
        self.compute = (items.load_rows * ops.load_row.cycles
                        + items.reset_rows * ops.reset_row.cycles
                        + items.adds * ops.add.cycles
                        + items.readout_rows * ops.readout_row.cycles)
        self.ctrl = ceil_cycles_array(items.weights_scanned / arch.controller.weights_per_cycle)
        self.bus_in = ceil_cycles_array(items.bus_in_bits / arch.bus.bits_per_cycle)
        self.bus_out = ceil_cycles_array(items.bus_out_bits / arch.bus.bits_per_cycle)
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


def area_breakdown_mm2(arch: BitSerialArch) -> dict[str, float]:
    chip, tech = arch.chip, arch.technology
    um2 = 1e-6
    cells = arch.subarrays * chip.rows * chip.columns * tech.cell_area_um2
    return {
        "array": cells * (1 + tech.array_periphery_area_factor) * um2,
        "sense_amplifiers": arch.subarrays * chip.columns * arch.sense_amp.area_um2 * um2,
        "controller": chip.banks * arch.controller.area_mm2,
        "buffers": arch.buffer.area_mm2,
    }


def sa_level(arch: BitSerialArch, ops: SubarrayOpCosts) -> dict[str, float]:
    """One accumulator-wide addition in one column: time, energy, power, SA area."""
    t = ops.add.cycles / arch.clock.frequency_hz
    e = ops.add.energy_total_pj * PJ
    return {"add_bits": ops.acc_bits, "add_cycles": ops.add.cycles, "add_time_s": t,
            "add_energy_j": e, "add_power_w": e / t, "sa_area_um2": arch.sense_amp.area_um2}


__all__ = ["ENERGY_CATEGORIES", "WORK_KINDS", "ItemCosts", "area_breakdown_mm2",
           "primitive_costs", "sa_level", "static_power_w", "subarray_op_costs"]
