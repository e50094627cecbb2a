"""Attention's activation x activation products run through the bit-serial micro-programs
(the functional path of placement `arrays`, `designs.bitserial.dynamic`).

Both operands must come from quantizers (real = s (q - zp)); each output
(batch..., i, j) is one column of a subarray, and for k = 0 .. K-1 the column

    writes a_ik and b_kj (two's complement, widths from their ranges) into its rows,
    runs `multiply_program` (P := a x b) and `add_program` (acc += P, sign-extended),

then reads the accumulator out. The sums are the integer products exactly (checked
against np.matmul in tests); the real result is s_a s_b (sum_k (qa - zpa)(qb - zpb)).
An accumulator too narrow for K x max|a| x max|b| is an error naming the node.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from imcsim.circuits.adder_styles import add_program, adder_style
from imcsim.circuits.bitarray import BitArray, values_to_bits
from imcsim.circuits.executor import compile_program, run_many
from imcsim.circuits.microprogram import load_program
from imcsim.circuits.multiply import multiply_program
from imcsim.designs.bitserial.schema import BitSerialArch
from imcsim.errors import WorkloadError
from imcsim.functional.graph_exec import MatmulCall, QuantInfo
from imcsim.workload.graph import node_key


def _integers(x: np.ndarray, q: QuantInfo) -> tuple[np.ndarray, float]:
    """q - zp of a dequantized operand (real = s (q - zp)), and s."""
    scale = float(np.asarray(q.scale).reshape(-1)[0])
    return np.rint(x / scale).astype(np.int64), scale


def _width(v: np.ndarray) -> int:
    """Two's-complement bits that hold every value of `v`."""
    top = int(max(-int(v.min(initial=0)) - 1, int(v.max(initial=0)), 0))
    return top.bit_length() + 1


class BitSerialMatmul:
    """`graph_exec` matmul hook: every product through the multiply micro-program."""

    def __init__(self, arch: BitSerialArch):
        self.style = adder_style(arch.sense_amp.kind)
        self.acc_bits = arch.datatypes.accumulator_bits
        self.columns = arch.chip.columns
        self.counts: Counter[str] = Counter()  # primitives executed, over every call
        self.calls: list[tuple[int, int, int, int]] = []  # (wa, wb, K, column chunks)

    def __call__(self, call: MatmulCall) -> np.ndarray:
        key = node_key(call.node)
        if call.a_quant is None or call.b_quant is None:
            raise WorkloadError("the bit-serial product of two activations needs both from "
                                "a quantizer", key=key)
        qa, sa = _integers(call.a, call.a_quant)
        qb, sb = _integers(call.b, call.b_quant)
        a, b = np.broadcast_arrays(qa[..., :, :, None], qb[..., None, :, :])  # (.., M, K, N)
        lead = a.shape[:-3] + (a.shape[-3], a.shape[-1])  # (..., M, N)
        k = a.shape[-2]
        a_cols = np.moveaxis(a, -2, -1).reshape(-1, k)  # (outputs, K)
        b_cols = np.moveaxis(b, -2, -1).reshape(-1, k)
        wa, wb = _width(a_cols), _width(b_cols)
        bound = k * (1 << (wa - 1)) * (1 << (wb - 1))
        if bound >= 1 << (self.acc_bits - 1) or wa + wb > self.acc_bits:
            raise WorkloadError(f"a {self.acc_bits}-bit accumulator cannot hold {k} products "
                                f"of {wa}- and {wb}-bit operands", key=key)
        self.calls.append((wa, wb, k, -(-len(a_cols) // self.columns)))
        sums = np.concatenate([self._columns(a_cols[c:c + self.columns],
                                             b_cols[c:c + self.columns], wa, wb)
                               for c in range(0, len(a_cols), self.columns)])
        return sums.reshape(lead) * sa * sb

    def _columns(self, a: np.ndarray, b: np.ndarray, wa: int, wb: int) -> np.ndarray:
        cols, k = a.shape
        carry = self.style.carry_rows
        n = self.acc_bits
        rows = list(range(2 * wa + 2 * wb + wa + 2 + carry + n))
        a_rows, b_rows = rows[:wa], rows[wa:wa + wb]
        p_rows = rows[wa + wb:2 * wa + 2 * wb]
        t_rows = rows[2 * wa + 2 * wb:3 * wa + 2 * wb]
        z, z2 = rows[3 * wa + 2 * wb], rows[3 * wa + 2 * wb + 1]
        c_row = rows[3 * wa + 2 * wb + 2] if carry else None
        acc = rows[len(rows) - n:]
        extended = p_rows + [p_rows[-1]] * (n - len(p_rows))  # sign extension
        step = compile_program(
            multiply_program(self.style, a_rows, b_rows, p_rows, t_rows, z, z2, c_row)
            + add_program(self.style, acc, extended, z, c_row))
        ba = BitArray(len(rows), cols)  # zeros: the accumulator starts at 0
        for j in range(k):
            load = load_program(a_rows + b_rows, np.concatenate(
                [values_to_bits(a[:, j], wa), values_to_bits(b[:, j], wb)]))
            self.counts.update(run_many([load, step], ba).counts)
        return ba.load_values(acc, signed=True)
