"""Sense-amplifier level: costs derive from the checked micro-programs and YAML params.

The three SA-level figures (2.00x speed, 1.22x power and area efficiency) are
CALIBRATION targets (published-figures.md allows it): ParaPIM's sense_ns,
sense_energy_pj and area_um2 were set by benchmarks/calibrate_sa.py.
"""

from __future__ import annotations

import pytest

from imcsim.circuits import microprogram as mp
from imcsim.circuits.adder_styles import add_counts, add_program, adder_style
from imcsim.designs.bitserial.costs import primitive_costs, subarray_op_costs
from imcsim.ratios import ratios
from imcsim.units import ns_to_cycles


def test_add_cost_is_program_counts_times_primitive_costs(fat, parapim):
    for arch in (fat, parapim):
        ops = subarray_op_costs(arch)
        prim = primitive_costs(arch)
        n = arch.datatypes.accumulator_bits
        style = adder_style(arch.sense_amp.kind)
        prog = add_program(style, list(range(2, 2 + n)), [100], 0,
                           1 if style.carry_rows else None)
        counts = mp.program_counts(prog)
        assert ops.add.cycles == sum(counts[k] * prim.cycles[k] for k in prim.cycles)


def test_calibrated_sa_ratios(fat, parapim):
    f, p = subarray_op_costs(fat), subarray_op_costs(parapim)
    r = ratios(p.add.cycles, f.add.cycles, p.add.energy_total_pj, f.add.energy_total_pj)
    assert r["speedup"] == pytest.approx(2.00, rel=0.02)
    assert r["power_efficiency"] == pytest.approx(1.22, rel=0.02)
    assert parapim.sense_amp.area_um2 / fat.sense_amp.area_um2 == pytest.approx(1.22, rel=0.02)
    # the speed is 2.00 within integer cycles (194 / 96); the energy ratio is calibrated to
    # the published 2.00 x 1.22 so that the rounding does not bias every energy ratio
    assert p.add.cycles == 194 and f.add.cycles == 96
    assert r["energy_efficiency"] == pytest.approx(2.00 * 1.22, rel=0.002)


def test_fat_wins_by_structure_not_by_timing_alone(fat):
    """With identical primitive timings, FAT's program is still shorter: it never writes
    the carry back (n fewer writes, one fewer init write)."""
    n = fat.datatypes.accumulator_bits
    fc, pc = add_counts("fat", n), add_counts("parapim", n)
    assert pc["write"] - fc["write"] == n + 1
    assert fc["row_opens"] < pc["row_opens"]


def test_ns_to_cycles_rounds_up():
    assert ns_to_cycles(1.0, 1e9) == 1
    assert ns_to_cycles(1.2, 1e9) == 2
    assert ns_to_cycles(0.0, 1e9) == 0
