"""Attention matmuls on analog crossbars: the dynamic operand programmed into spare tiles
for every inference, the other streamed as inputs (placement `arrays`).

For output (h, i, j) = sum_k A[h, i, k] B[h, k, j] (`periphery.dynamic.matmul_dims`),
B is programmed as the weights of a grouped fully connected layer, one group per head
(B[h]: K inputs, N outputs, `input_bits`-bit values: the operand is an activation), and
the M rows of A[h] stream through it as its output positions. It runs with the crossbar's
own `reload` model (`costs.plan_network`): its tiles programmed (`programming.row_write_ns`
per row, tiles in parallel; `energy_pj_per_cell` per cell), then read, converted and
shifted-and-added as any layer, in waves when the tiles it may use are too few. It may
use only the tiles the weight layers leave free when those stay resident (all tiles
otherwise).

The operand's values are not known in a performance run; the conductances (array read
energy) come from levels drawn uniformly over the signed `input_bits` range, seeded by the
node's name. Endurance: each spare cell is written once per wave, ceil(tiles / spare tiles) times per
node; with
`programming.endurance_writes` the report gives the inferences a cell survives.
"""

from __future__ import annotations

import dataclasses
import zlib
from typing import Any

import numpy as np

from imcsim.designs.crossbar.mapping import tile_layer
from imcsim.designs.crossbar.schema import CrossbarArch
from imcsim.engine import run
from imcsim.engine.types import STEP_COMPUTE, StreamPhase
from imcsim.errors import WorkloadError
from imcsim.periphery.dynamic import DynamicMatmul, MatmulDims, matmul_dims
from imcsim.workload.layer import ComputeLayer, Network
from imcsim.workload.op_kinds import OpWork


def operand_layer(work: OpWork, d: MatmulDims, bits: int) -> ComputeLayer:
    """B as the weights of one grouped fully connected layer: a group per head, its (N, K)
    weights B[h]^T, its K inputs A[h] row by row over M output positions."""
    rng = np.random.default_rng(zlib.crc32(work.name.encode()))
    top = max(1, 2 ** (bits - 1) - 1)
    return ComputeLayer(
        name=work.name, kind="fc", in_channels=d.heads * d.k, out_channels=d.heads * d.n,
        kernel=(1, 1), stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=d.heads,
        in_hw=(d.m, 1), out_hw=(d.m, 1),
        weights=rng.integers(-top, top + 1, size=(d.heads * d.n, d.k, 1, 1), dtype=np.int8),
        scale=np.ones(d.heads * d.n, np.float32), weight_bits=bits, op=work.op)


def spare_tiles(arch: CrossbarArch, net: Network) -> int:
    """Tiles the weight layers leave free: all if they are reloaded anyway."""
    from imcsim.designs.crossbar.costs import AnalogCosts

    shape = AnalogCosts.from_arch(arch).shape
    needed = sum(tile_layer(layer, shape).count for layer in net.layers)
    resident = needed <= arch.crossbar.tiles and arch.crossbar.placement != "reload"
    return arch.crossbar.tiles - needed if resident else arch.crossbar.tiles


def dynamic_matmul(arch: CrossbarArch, net: Network, work: OpWork, names: list[str],
                   layer_index: int) -> DynamicMatmul:
    from imcsim.designs.crossbar.costs import AnalogCosts, plan_network

    d = matmul_dims(work, net.batch)
    xb = arch.crossbar
    spare = spare_tiles(arch, net)
    if spare < 1:
        raise WorkloadError(f"{work.op} placed on the crossbars, but the resident weights "
                            f"fill all {xb.tiles} tiles", source=net.source,
                            key=f"node {work.name} ({work.op})")
    bits = xb.input_bits
    sub_xb = dataclasses.replace(xb, tiles=spare, placement="reload", weight_bits=bits,
                                 replicate=False)
    sub_arch = dataclasses.replace(arch, crossbar=sub_xb, vector_unit=None)
    layer = operand_layer(work, d, bits)
    sub_net = Network(work.name, (layer,), 0, (), net.quantizer, net.source)
    plan = plan_network(sub_arch, sub_net)
    engine = run(plan.phases, plan.resources)
    cycles = engine.layer_cycles(1)
    costs = plan.costs(cycles, engine)
    energy_pj: dict[str, float] = {}
    for layer_costs in costs.layers:
        for cat, j in layer_costs.energy_breakdown_j.items():
            energy_pj[cat] = energy_pj.get(cat, 0.0) + j * 1e12
    shape = AnalogCosts.from_arch(sub_arch).shape
    tiles = tile_layer(layer, shape).count
    cells = d.heads * d.k * d.n * shape.cols_per_out
    total = int(cycles.sum())
    phase = StreamPhase(f"{work.name}/crossbars", layer_index, names, (STEP_COMPUTE,),
                        np.array([[-1]]), np.array([[0]]), np.asarray(0),
                        np.array([names.index(plan.resources[0].name)]), np.array([total]),
                        np.asarray(0), np.array([xb.cols]))
    details: dict[str, Any] = {"where": "crossbar tiles, reprogrammed per inference",
                               "spare_tiles": spare, "tiles": tiles,
                               "programming_j": energy_pj.get("programming", 0.0) * 1e-12,
                               "heads": d.heads, "m": d.m, "k": d.k, "n": d.n}
    return DynamicMatmul(phase=phase, energy_pj=energy_pj,
                         written_bits=cells * xb.bits_per_cell,
                         writes_per_cell=-(-tiles // spare),
                         endurance=xb.programming.endurance_writes, details=details)
