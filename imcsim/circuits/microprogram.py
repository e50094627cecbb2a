"""Bit-serial micro-programs: instructions, program generators and their primitive counts.

A program is a list of `Instr`. Generators build the programs the hardware runs (reset,
readout, load here; the additions/subtractions of each adder style in
`imcsim.circuits.adder_styles`, which builds them from the constructors below);
`program_counts` counts a program's primitives statically, and the closed forms
(`reset_counts`, ..., `adder_styles.add_counts`) state the same numbers as formulas.
Tests prove the three agree (static, closed form, executed), so the network-level cost
model can use the closed forms (DESIGN.md principle 2). This module imports no adder
style (adder_styles imports it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from imcsim.circuits.bitarray import SenseFn, Source, as_sense_fn, as_source

__all__ = [
    "Instr",
    "Op",
    "Program",
    "activate",
    "as_row",
    "full_counts",
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


def as_row(r: int) -> int:
    """A row index as a plain non-negative int (ValueError otherwise)."""
    if isinstance(r, bool) or int(r) != r or r < 0:
        raise ValueError(f"row must be a non-negative integer, got {r!r}")
    return int(r)


# ---- instruction constructors ----------------------------------------------------------
def activate(*rows: int) -> Instr:
    """Open 1..3 distinct rows."""
    rs = tuple(as_row(r) for r in rows)
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
    return Instr(Op.WRITE, rows=(as_row(row),), source=s, data=d)


# ---- program generators (additions: imcsim.circuits.adder_styles) ---------------------
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


def full_counts(**kw: int) -> dict[str, int]:
    """A closed-form counts dict: every primitive key, zero unless given in `kw`."""
    out = {"activate": 0, "row_opens": 0, "sense": 0, "latch": 0, "write": 0}
    out.update(kw)
    return out


def reset_counts(n: int) -> dict[str, int]:
    """Closed-form counts of reset_program over n rows."""
    return full_counts(write=n)


def readout_counts(n: int) -> dict[str, int]:
    """Closed-form counts of readout_program over n rows."""
    return full_counts(activate=n, row_opens=n, sense=n)


def load_counts(rows: int | Sequence[int]) -> dict[str, int]:
    """Closed-form counts of load_program over `rows` (a row list or a row count)."""
    n = rows if isinstance(rows, int) else len(rows)
    return full_counts(write=n)
