"""Primitive costs: micro-program primitive counts x per-primitive timing/energy from the YAML.

A subarray operation (an n-bit add, a row load, a readout) is a checked micro-program
(`imcsim.circuits.microprogram`); its cost is the dot product of its primitive counts
with the per-primitive cycles and per-column energies below. Energy is per column: a
primitive fires every sense amplifier / bit line of the subarray.

    cycles(op)           = sum_k count_k(op) * ceil(t_k * f_clk)
    energy(op) [pJ/col]  = sum_k count_k(op) * e_k
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imcsim.circuits import microprogram as mp
from imcsim.circuits.adder_styles import adder_style
from imcsim.units import ns_to_cycles

# Which energy category each primitive's energy is reported under.
CATEGORY = {
    "row_opens": "array",
    "write": "array",
    "sense": "sense_amplifiers",
    "latch": "sense_amplifiers",
}
TIMED = ("activate", "sense", "latch", "write")


@dataclass(frozen=True)
class OpCost:
    """Cost of one subarray operation: cycles and per-column energy by category (pJ)."""

    cycles: int
    energy_pj: dict[str, float]

    @property
    def energy_total_pj(self) -> float:
        return sum(self.energy_pj.values())


@dataclass(frozen=True)
class PrimitiveCosts:
    cycles: dict[str, int]
    energy_pj: dict[str, float]

    @classmethod
    def from_sections(cls, tech: Any, sa: Any, f: float) -> PrimitiveCosts:
        """From a technology section (activate_ns, write_ns, open and write energies), a
        sense-amplifier section (sense_ns, latch_ns and energies) and the clock (Hz)."""
        cycles = {
            "activate": ns_to_cycles(tech.activate_ns, f),
            "sense": ns_to_cycles(sa.sense_ns, f),
            "latch": ns_to_cycles(sa.latch_ns, f),
            "write": ns_to_cycles(tech.write_ns, f),
        }
        energy = {
            "row_opens": tech.open_energy_pj_per_cell,
            "sense": sa.sense_energy_pj,
            "latch": sa.latch_energy_pj,
            "write": tech.write_energy_pj_per_bit,
        }
        return cls(cycles, energy)

    def cost(self, counts: dict[str, int]) -> OpCost:
        cyc = sum(counts.get(k, 0) * self.cycles[k] for k in TIMED)
        energy: dict[str, float] = {}
        for key, cat in CATEGORY.items():
            energy[cat] = energy.get(cat, 0.0) + counts.get(key, 0) * self.energy_pj[key]
        return OpCost(cyc, energy)


@dataclass(frozen=True)
class SubarrayOpCosts:
    """Costs of the operations the mappings are made of, for one arch.

    add:      acc +/- operand, n = accumulator_bits wide (same cost for add and subtract)
    load_row: write one row of external data (an activation bit-plane or a partial sum)
    reset_row / readout_row: clear / read one accumulator row
    """

    style: str
    acc_bits: int
    add: OpCost
    load_row: OpCost
    reset_row: OpCost
    readout_row: OpCost
    reserved_rows: int  # AdderStyle.reserved_rows: two constant-zero rows + its carry rows

    @classmethod
    def build(cls, prim: PrimitiveCosts, style: str, n: int,
              load_write_pj: float | None = None) -> SubarrayOpCosts:
        """The operations of adder `style` with n-bit accumulators, costed by `prim`;
        a row of external data written at `load_write_pj` per bit when given."""
        adder = adder_style(style)
        load = prim if load_write_pj is None else PrimitiveCosts(
            prim.cycles, {**prim.energy_pj, "write": load_write_pj})
        return cls(
            style=adder.name,
            acc_bits=n,
            add=prim.cost(adder.counts(n)),
            load_row=load.cost(mp.load_counts(1)),
            reset_row=prim.cost(mp.reset_counts(1)),
            readout_row=prim.cost(mp.readout_counts(1)),
            reserved_rows=adder.reserved_rows,
        )
