"""Attention matmuls on the bit-serial arrays: the dynamic operand written into rows, the
products formed by the bit-serial multiply micro-program (`circuits.multiply`).

Output (h, i, j) = sum_k A[h, i, k] B[h, k, j] (`periphery.dynamic.matmul_dims`), n-bit
operands (`datatypes.activation_bits`), an accumulator of `accumulator_bits`. A column
job owns one (h, j): it holds column j of B[h] and computes outputs (h, i, j) for its
share of the rows i, one after another:

    per output:   K x [write A[h, i, k] (n rows, the same value in every column of the
                  subarray: one broadcast) + multiply (n x n -> 2n rows) + add the product
                  into the accumulator] + read out and reset the accumulator (acc rows each)
    B stationary: B's column (K x n rows) written once per job, when the rows hold it
                  beside A, the product, the multiply's n temporary rows, the accumulator
                  and the adder's reserved rows; otherwise B[h, k, j] is written with
                  A[h, i, k] for every output (n more rows per step, per-column values).

Jobs = heads x N x r, r = copies of each B column (spare columns take rows i off the
busiest job: r = min(M, columns on chip // (heads x N))). Jobs are dealt evenly over the
subarrays (columns per subarray at a time); each subarray is an engine queue: its bank's
bus carries B (per-column values), A (n bits per row, broadcast) and the results
(acc bits per output), then the subarray computes. Cycles and energy per operation are
the micro-programs' primitive counts priced by the technology (`SubarrayOpCosts`,
`multiply_counts`), per column that computes (lane).
"""

from __future__ import annotations

import numpy as np

from imcsim.circuits.costs import OpCost
from imcsim.circuits.multiply import multiply_counts
from imcsim.designs.bitserial.costs import primitive_costs, subarray_op_costs
from imcsim.designs.bitserial.mapping.tiling import item_slots
from imcsim.designs.bitserial.plan import resource_indices
from imcsim.designs.bitserial.schema import BitSerialArch
from imcsim.engine.types import STEP_COMPUTE, STEP_TRANSFER, StreamPhase
from imcsim.errors import ConfigError
from imcsim.periphery.dynamic import DynamicMatmul, matmul_dims
from imcsim.workload.op_kinds import OpWork


def multiply_cost(arch: BitSerialArch) -> OpCost:
    """One n x n-bit signed multiply per column (n = activation_bits)."""
    n = arch.datatypes.activation_bits
    return primitive_costs(arch).cost(multiply_counts(arch.sense_amp.kind, n, n))


def dynamic_matmul(arch: BitSerialArch, work: OpWork, batch: int, names: list[str],
                   layer_index: int) -> DynamicMatmul:
    """The node's phase (one queue per subarray used) and costs (module docstring)."""
    d = matmul_dims(work, batch)
    ops = subarray_op_costs(arch)
    mul = multiply_cost(arch)
    n, acc = arch.datatypes.activation_bits, arch.datatypes.accumulator_bits
    chip = arch.chip
    columns, subarrays = chip.columns, arch.subarrays
    rows_beside = n + 2 * n + n + acc + ops.reserved_rows  # A, product, temporaries, acc
    stationary = d.k * n + rows_beside <= chip.rows
    if not stationary and n + rows_beside > chip.rows:
        raise ConfigError(f"{chip.rows} rows cannot hold one multiply-accumulate of "
                          f"{n}-bit operands ({n + rows_beside} rows) for {work.op} node "
                          f"{work.name}", source=arch.source, key="chip.rows")
    pairs = d.heads * d.n  # (h, j) columns of B
    copies = max(1, min(d.m, (subarrays * columns) // max(1, pairs)))
    jobs = pairs * copies
    rows_per_job = -(-d.m // copies)
    used = min(subarrays, -(-jobs // columns))
    per_sub = np.full(used, jobs // used, dtype=np.int64)
    per_sub[:jobs % used] += 1
    rounds = -(-per_sub // columns)  # jobs run `columns` at a time
    step_rows = n if stationary else 2 * n  # rows written per k step
    per_output = (d.k * (step_rows * ops.load_row.cycles + mul.cycles + ops.add.cycles)
                  + acc * (ops.readout_row.cycles + ops.reset_row.cycles))
    b_write = d.k * n * ops.load_row.cycles if stationary else 0
    compute = rounds * (b_write + rows_per_job * per_output)
    # bus bits per subarray: B per column, A broadcast per row, results per output
    outputs_sub = per_sub * rows_per_job
    b_bits = per_sub * d.k * n if stationary else outputs_sub * d.k * n
    a_bits = rounds * rows_per_job * d.k * n
    out_bits = outputs_sub * acc
    bus_bits = b_bits + a_bits + out_bits
    bus = np.ceil(bus_bits / arch.bus.bits_per_cycle).astype(np.int64)
    per_bank = chip.subarrays_per_bank
    ctrl, unit = resource_indices(item_slots(used, chip.banks, per_bank, bank_major=False),
                                  per_bank)  # subarrays dealt round-robin over the banks
    phase = StreamPhase(f"{work.name}/arrays", layer_index, names,
                        (STEP_TRANSFER, STEP_COMPUTE), (ctrl + 1)[:, None], bus[:, None],
                        np.asarray(0), unit, compute, np.asarray(1),
                        np.minimum(per_sub, columns))
    # energy: per lane (column) operation
    outputs = d.heads * d.n * d.m
    steps = outputs * d.k
    b_lane_rows = jobs * d.k * n if stationary else steps * n
    lane_ops = [(ops.load_row, steps * n + b_lane_rows), (mul, steps), (ops.add, steps),
                (ops.readout_row, outputs * acc), (ops.reset_row, outputs * acc)]
    energy: dict[str, float] = {}
    for op, count in lane_ops:
        for cat, pj in op.energy_pj.items():
            energy[cat] = energy.get(cat, 0.0) + float(count) * pj
    total_bus = float(bus_bits.sum())
    energy["buffers"] = energy.get("buffers", 0.0) + (
        float((b_bits + a_bits).sum()) * arch.buffer.read_energy_pj_per_bit
        + float(out_bits.sum()) * arch.buffer.write_energy_pj_per_bit)
    energy["interconnect"] = (energy.get("interconnect", 0.0)
                              + total_bus * arch.bus.energy_pj_per_bit)
    written = int(steps * n + b_lane_rows)
    per_cell = int(rounds.max() * rows_per_job * d.k) if used else 0
    return DynamicMatmul(
        phase=phase, energy_pj=energy, written_bits=written, writes_per_cell=per_cell,
        endurance=arch.technology.endurance_writes,
        details={"where": "bit-serial subarrays", "b_stationary": bool(stationary),
                 "copies": copies, "subarrays": int(used),
                 "multiply_cycles": mul.cycles, "add_cycles": ops.add.cycles,
                 "heads": d.heads, "m": d.m, "k": d.k, "n": d.n})
