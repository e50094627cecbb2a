"""Bit-serial micro-programs: instructions, program generators and their primitive counts.

A program is a list of `Instr`. Generators build the programs the hardware runs
(ParaPIM and FAT additions/subtractions, reset, readout, load); `program_counts` counts a
program's primitives statically, and the closed forms (`add_counts`, ...) state the
same numbers as formulas. Tests prove the three agree (static, closed form, executed),
so the network-level cost model can use the closed forms (DESIGN.md principle 2).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from imcsim.circuits.bitarray import SenseFn, Source, as_sense_fn, as_source

__all__ = [
    "STYLES",
    "Instr",
    "Op",
    "Program",
    "activate",
    "add_counts",
    "add_program",
    "latch",
    "load_counts",
    "load_program",
    "program_counts",
    "readout_counts",
    "readout_program",
    "reset_counts",
    "reset_program",
    "sense",
    "set_latch",
    "write",
]

#: Adder styles: "parapim" (carry written back to a row) and "fat" (carry in the SA latch).
STYLES: tuple[str, ...] = ("parapim", "fat")


class Op(IntEnum):
    """Instruction opcodes (values are also the fast executor's opcodes)."""

    ACTIVATE = 0
    SENSE = 1
    LATCH = 2
    SET_LATCH = 3
    WRITE = 4


@dataclass(frozen=True, slots=True)
class Instr:
    """One primitive. Only the fields of its opcode are meaningful.

    ACTIVATE: rows. SENSE: fn, invert. LATCH: -. SET_LATCH: value. WRITE: rows[0] (the
    target row), source, data (bool [cols], for Source.DATA only; not compared).
    """

    op: Op
    rows: tuple[int, ...] = ()
    fn: SenseFn = SenseFn.READ
    invert: bool = False
    value: bool = False
    source: Source = Source.SUM
    data: np.ndarray | None = field(default=None, compare=False, repr=False)


Program = list[Instr]


def _row(r: int) -> int:
    if isinstance(r, bool) or int(r) != r or r < 0:
        raise ValueError(f"row must be a non-negative integer, got {r!r}")
    return int(r)


# ---- instruction constructors ----------------------------------------------------------
def activate(*rows: int) -> Instr:
    """Open 1..3 distinct rows."""
    rs = tuple(_row(r) for r in rows)
    if not 1 <= len(rs) <= 3 or len(set(rs)) != len(rs):
        raise ValueError(f"activate opens 1..3 distinct rows, got {rs}")
    return Instr(Op.ACTIVATE, rows=rs)


def sense(fn: SenseFn | str, invert: bool = False) -> Instr:
    """Sense the opened rows with `fn` ("read", "fa3", "fa_latched")."""
    return Instr(Op.SENSE, fn=as_sense_fn(fn), invert=bool(invert))


def latch() -> Instr:
    """FAT carry latch: L := sa_carry."""
    return Instr(Op.LATCH)


def set_latch(value: bool | int) -> Instr:
    """L := value in every column."""
    return Instr(Op.SET_LATCH, value=bool(value))


def write(row: int, source: Source | str, data: np.ndarray | Sequence[bool] | None = None) -> Instr:
    """row := sum / carry / const0 / const1 / external data (bool vector)."""
    s = as_source(source)
    d = None
    if s is Source.DATA:
        if data is None:
            raise ValueError('write(row, "data") needs a data vector')
        d = np.array(data, dtype=np.bool_)
        if d.ndim != 1:
            raise ValueError(f"data must be a 1-D bool vector, got shape {d.shape}")
        d.setflags(write=False)
    elif data is not None:
        raise ValueError(f"data given for write source {s.name}")
    return Instr(Op.WRITE, rows=(_row(row),), source=s, data=d)


# ---- program generators ----------------------------------------------------------------
def add_program(
    style: str,
    acc_rows: Sequence[int],
    operand_rows: Sequence[int],
    zero_row: int,
    carry_row: int | None = None,
    subtract: bool = False,
    source_rows: Sequence[int] | None = None,
) -> Program:
    """acc := acc +/- operand (mod 2**n), bit-serially, LSB first.

    With `source_rows` (n rows, e.g. a second constant-zero row n times) the sum is
    acc := source +/- operand: the first operation of a channel reads a zero row instead
    of the accumulator, so the accumulator needs no reset (same primitive counts).

    n = len(acc_rows); the operand has m = len(operand_rows) <= n rows and is
    zero-extended to n bits through `zero_row` (a row holding zeros), so an unsigned
    m-bit value is added to a signed n-bit accumulator (m == n: plain two's complement).
    Subtraction adds ~operand_ext + 1 (operand inverted in the SA, initial carry 1).

    style "parapim": write(carry_row, const); per bit: activate([acc_i, op_i, carry_row]),
    sense fa3, write(acc_i, sum), write(carry_row, carry).
    style "fat": set_latch(const); per bit: activate([acc_i, op_i]), sense fa_latched,
    latch, write(acc_i, sum). `carry_row` is not used and must be None.
    """
    acc = [_row(r) for r in acc_rows]
    ops = [_row(r) for r in operand_rows]
    z = _row(zero_row)
    n, m = len(acc), len(ops)
    if n < 1 or not 1 <= m <= n:
        raise ValueError(f"need 1 <= len(operand_rows) <= len(acc_rows), got m={m}, n={n}")
    if len(set(acc)) != n:
        raise ValueError(f"acc_rows must be distinct: {acc}")
    if set(acc) & (set(ops) | {z}):
        raise ValueError("acc_rows must not overlap operand_rows or zero_row")
    init = Source.CONST1 if subtract else Source.CONST0
    operand = ops + [z] * (n - m)
    src = acc
    if source_rows is not None:
        src = [_row(r) for r in source_rows]
        if len(src) != n:
            raise ValueError(f"source_rows needs {n} rows, got {len(src)}")
        if set(src) & (set(operand) | set(acc)):
            raise ValueError("source_rows must not overlap acc, operand or zero rows")
    prog: Program = []
    if style == "parapim":
        if carry_row is None:
            raise ValueError("style 'parapim' needs a carry_row")
        c = _row(carry_row)
        if c in acc or c in operand or c in src:
            raise ValueError("carry_row must differ from acc, source, operand and zero rows")
        prog.append(write(c, init))
        for a, s, b in zip(acc, src, operand, strict=True):
            prog += [
                activate(s, b, c),
                sense(SenseFn.FA3, subtract),
                write(a, Source.SUM),
                write(c, Source.CARRY),
            ]
    elif style == "fat":
        if carry_row is not None:
            raise ValueError("style 'fat' keeps the carry in the SA latch: carry_row must be None")
        prog.append(set_latch(subtract))
        for a, s, b in zip(acc, src, operand, strict=True):
            prog += [
                activate(s, b),
                sense(SenseFn.FA_LATCHED, subtract),
                latch(),
                write(a, Source.SUM),
            ]
    else:
        raise ValueError(f"unknown adder style {style!r}; expected one of {STYLES}")
    return prog


def reset_program(acc_rows: Sequence[int]) -> Program:
    """Write 0 into every row of `acc_rows`."""
    return [write(r, Source.CONST0) for r in acc_rows]


def readout_program(rows: Sequence[int]) -> Program:
    """Per row: activate([r]); sense("read"). The executor returns the read bits."""
    prog: Program = []
    for r in rows:
        prog += [activate(r), sense(SenseFn.READ)]
    return prog


def load_program(rows: Sequence[int], data_bits: np.ndarray) -> Program:
    """Write external data: data_bits is bool [len(rows), cols], row i -> rows[i]."""
    d = np.asarray(data_bits, dtype=np.bool_)
    if d.ndim != 2 or d.shape[0] != len(rows):
        raise ValueError(f"data_bits must be [{len(rows)}, cols], got shape {d.shape}")
    return [write(r, Source.DATA, d[i]) for i, r in enumerate(rows)]


# ---- counts ---------------------------------------------------------------------------
def program_counts(program: Iterable[Instr]) -> Counter[str]:
    """Static primitive counts of a program (keys as BitArray.counts; zeros omitted)."""
    c: Counter[str] = Counter()
    for ins in program:
        if ins.op is Op.ACTIVATE:
            c["activate"] += 1
            c["row_opens"] += len(ins.rows)
        elif ins.op is Op.SENSE:
            c["sense"] += 1
        elif ins.op in (Op.LATCH, Op.SET_LATCH):
            c["latch"] += 1
        else:
            c["write"] += 1
    return c


def _full(**kw: int) -> dict[str, int]:
    out = {"activate": 0, "row_opens": 0, "sense": 0, "latch": 0, "write": 0}
    out.update(kw)
    return out


def add_counts(style: str, n: int) -> dict[str, int]:
    """Closed-form primitive counts of an n-bit add/subtract (same for both directions)."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if style == "parapim":
        return _full(activate=n, row_opens=3 * n, sense=n, write=2 * n + 1)
    if style == "fat":
        return _full(activate=n, row_opens=2 * n, sense=n, latch=n + 1, write=n)
    raise ValueError(f"unknown adder style {style!r}; expected one of {STYLES}")


def reset_counts(n: int) -> dict[str, int]:
    """Closed-form counts of reset_program over n rows."""
    return _full(write=n)


def readout_counts(n: int) -> dict[str, int]:
    """Closed-form counts of readout_program over n rows."""
    return _full(activate=n, row_opens=n, sense=n)


def load_counts(rows: int | Sequence[int]) -> dict[str, int]:
    """Closed-form counts of load_program over `rows` (a row list or a row count)."""
    n = rows if isinstance(rows, int) else len(rows)
    return _full(write=n)
