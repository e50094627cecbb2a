"""Mappings: how a layer lands on subarrays, as work items with exact operation counts."""

from __future__ import annotations

from dataclasses import dataclass

from imcsim.arch.schema import Arch
from imcsim.circuits.costs import SubarrayOpCosts, static_power_w
from imcsim.mapping.estimate import LayerShape, MoveCosts
from imcsim.mapping.policies import POLICIES
from imcsim.mapping.tiling import (
    Geometry,
    LayerItems,
    Tiling,
    UnitCosts,
    check_fits,
    layer_items,
    min_tiles,
)
from imcsim.workload.layer import ComputeLayer


@dataclass
class LayerPlan:
    layer: ComputeLayer
    tiling: Tiling
    phases: list[LayerItems]


def geometry(arch: Arch, ops: SubarrayOpCosts) -> Geometry:
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


def move_costs(arch: Arch) -> MoveCosts:
    return MoveCosts(
        bus_bits_per_cycle=arch.bus.bits_per_cycle, banks=arch.chip.banks,
        pj_per_bit_in=arch.buffer.read_energy_pj_per_bit + arch.bus.energy_pj_per_bit,
        pj_per_bit_out=arch.buffer.write_energy_pj_per_bit + arch.bus.energy_pj_per_bit,
        static_pj_per_cycle=static_power_w(arch) / arch.clock.frequency_hz * 1e12)


def plan_layer(layer: ComputeLayer, arch: Arch, ops: SubarrayOpCosts,
               density: float) -> LayerPlan:
    """Choose the tiling of `layer` by the arch's mapping policy and cost it exactly."""
    geo = geometry(arch, ops)
    check_fits(layer, geo, arch.source)
    shape = LayerShape(layer.fan_in, layer.out_channels, layer.out_pixels, layer.groups,
                       density)
    policy = POLICIES[arch.mapping.kind]
    tiling = policy(shape, min_tiles(layer.out_pixels, geo.columns), geo, ops,
                    move_costs(arch), arch.mapping.max_input_splits, arch.mapping.objective)
    unit = UnitCosts(ops.add.cycles, ops.load_row.cycles, ops.reset_row.cycles,
                     ops.readout_row.cycles)
    return LayerPlan(layer, tiling, layer_items(layer, geo, tiling, unit, arch.chip.banks))


__all__ = ["LayerItems", "LayerPlan", "Tiling", "geometry", "plan_layer"]
