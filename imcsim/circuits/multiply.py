"""Bit-serial multiplication in a subarray: shift-and-add of partial products.

P := A x B per column, A an m-bit and B a k-bit value stored vertically (LSB first),
P on m + k rows (exact: no overflow), two's complement when `signed` (else unsigned):

    B = -b_{k-1} 2^{k-1} + sum_{j<k-1} b_j 2^j   (signed; unsigned: + b_{k-1} 2^{k-1})
    P = sum_j (+/-) (A AND b_j) << j

For each multiplier bit j: the partial product T = A AND b_j is formed in m temporary
rows (`AdderStyle.and_program`: the carry of a full add of (a_i, b_j, 0) is a_i AND b_j),
then added into P's rows j .. m + k - 1 (an (m + k - j)-bit addition, T sign-extended by
repeating its top row when signed, zero-extended otherwise); the partial product of the
sign bit of a signed B is subtracted. The first addition reads the second zero row as its
source, so P needs no reset (as the mappings' accumulators). Every column multiplies its
own operands: this is the dynamic operand x activation product attention needs.

Closed form (`multiply_counts`): k (m-bit AND) + sum_{j<k} add(m + k - j), for either
adder style; tests/test_multiply.py checks programs, counts and integer products.
"""

from __future__ import annotations

from collections.abc import Sequence

from imcsim.circuits.adder_styles import AdderStyle, add_counts, add_program, adder_style
from imcsim.circuits.microprogram import Program, as_row

__all__ = ["multiply_counts", "multiply_program"]


def multiply_program(style: str | AdderStyle, a_rows: Sequence[int], b_rows: Sequence[int],
                     p_rows: Sequence[int], t_rows: Sequence[int], zero_row: int,
                     zero2_row: int, carry_row: int | None = None,
                     signed: bool = True) -> Program:
    """P := A x B (module docstring): a_rows m, b_rows k, p_rows m + k, t_rows m
    temporary rows, two constant-zero rows, the style's carry row (ParaPIM) or None."""
    st = adder_style(style)
    a, b = [as_row(r) for r in a_rows], [as_row(r) for r in b_rows]
    p, t = [as_row(r) for r in p_rows], [as_row(r) for r in t_rows]
    z, z2 = as_row(zero_row), as_row(zero2_row)
    m, k = len(a), len(b)
    if m < 1 or k < 1:
        raise ValueError(f"need at least one bit per operand, got m={m}, k={k}")
    if len(p) != m + k or len(t) != m:
        raise ValueError(f"need {m + k} product rows and {m} temporary rows, got "
                         f"{len(p)} and {len(t)}")
    groups = [a, b, p, t, [z], [z2]] + ([[as_row(carry_row)]] if carry_row is not None else [])
    flat = [r for g in groups for r in g]
    if len(set(flat)) != len(flat):
        raise ValueError("operand, product, temporary, zero and carry rows must all differ")
    n = m + k
    prog: Program = []
    for j in range(k):
        prog += st.and_program(a, b[j], t, z)
        width = n - j
        extend = t[-1] if signed else z
        operand = t + [extend] * (width - m)
        source = [z2] * width if j == 0 else None
        prog += add_program(st, p[j:], operand, z, carry_row,
                            subtract=signed and j == k - 1, source_rows=source)
    return prog


def multiply_counts(style: str | AdderStyle, m: int, k: int) -> dict[str, int]:
    """Closed-form primitive counts of `multiply_program` for m x k bits (signed or not)."""
    if m < 1 or k < 1:
        raise ValueError(f"need at least one bit per operand, got m={m}, k={k}")
    st = adder_style(style)
    total = dict.fromkeys(st.and_counts(m), 0)
    for j in range(k):
        for counts in (st.and_counts(m), add_counts(st, m + k - j)):
            for key, v in counts.items():
                total[key] += v
    return total
