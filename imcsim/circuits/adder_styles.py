"""Adder styles: how a bit-serial sense-amplifier adder keeps its carry, chosen by name.

An `AdderStyle` knows the per-bit primitive sequence of an n-bit add/subtract, its
closed-form primitive counts and the rows a subarray reserves for it. `add_program` and
`add_counts` check the arguments common to every style and hand the rest to the style.
Styles are registered in `ADDER_STYLES` by name (the arch YAML's ``sense_amp.kind``);
a new style is one registered subclass here plus its tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from imcsim.circuits.bitarray import SenseFn, Source
from imcsim.circuits.microprogram import (
    Program,
    activate,
    as_row,
    full_counts,
    latch,
    sense,
    set_latch,
    write,
)
from imcsim.config.registry import Registry

__all__ = [
    "ADDER_STYLES",
    "ZERO_ROWS",
    "AdderStyle",
    "FatAdder",
    "ParaPimAdder",
    "add_counts",
    "add_program",
    "adder_style",
]

#: Constant-zero rows every style reserves: one zero-extends operands, one is the source
#: of a channel's first operation (so accumulators need no reset).
ZERO_ROWS = 2


class AdderStyle:
    """One adder style: its carry storage, program generator and closed-form counts."""

    name: ClassVar[str]
    description: ClassVar[str]  # one line
    carry_rows: ClassVar[int]  # rows holding the carry between bits

    @property
    def reserved_rows(self) -> int:
        """Rows a subarray keeps for the micro-programs: the zero rows plus the carry rows."""
        return ZERO_ROWS + self.carry_rows

    def program(self, acc: list[int], source: list[int], operand: list[int],
                carry_row: int | None, subtract: bool) -> Program:
        """acc := source +/- operand, LSB first, on rows `add_program` already checked
        (operand zero-extended to len(acc) rows); checks and uses `carry_row`."""
        raise NotImplementedError

    def and_program(self, a_rows: list[int], b_row: int, t_rows: list[int],
                    zero_row: int) -> Program:
        """t_i := a_i AND b, bit by bit: the carry of a full add of (a_i, b, 0) is
        maj(a_i, b, 0) = a_i AND b, written from the sense amplifier (rows checked by the
        caller)."""
        raise NotImplementedError

    def and_counts(self, m: int) -> dict[str, int]:
        """Closed-form primitive counts of `and_program` over m bits."""
        raise NotImplementedError

    def counts(self, n: int) -> dict[str, int]:
        """Closed-form primitive counts of an n-bit add/subtract (every key, zeros included)."""
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        return self._counts(n)

    def _counts(self, n: int) -> dict[str, int]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


#: The registered styles by name, in the order the arch schema lists them.
ADDER_STYLES: Registry[AdderStyle] = Registry("adder style")


@ADDER_STYLES.register
class ParaPimAdder(AdderStyle):
    """ParaPIM: a three-row full add per bit, the carry written back to a carry row."""

    name = "parapim"
    description = "carry written back to a carry row every bit (three-row activation)"
    carry_rows = 1

    def program(self, acc: list[int], source: list[int], operand: list[int],
                carry_row: int | None, subtract: bool) -> Program:
        if carry_row is None:
            raise ValueError(f"style {self.name!r} needs a carry_row")
        c = as_row(carry_row)
        if c in acc or c in operand or c in source:
            raise ValueError("carry_row must differ from acc, source, operand and zero rows")
        prog: Program = [write(c, Source.CONST1 if subtract else Source.CONST0)]
        for a, s, b in zip(acc, source, operand, strict=True):
            prog += [
                activate(s, b, c),
                sense(SenseFn.FA3, subtract),
                write(a, Source.SUM),
                write(c, Source.CARRY),
            ]
        return prog

    def _counts(self, n: int) -> dict[str, int]:
        return full_counts(activate=n, row_opens=3 * n, sense=n, write=2 * n + 1)

    def and_program(self, a_rows: list[int], b_row: int, t_rows: list[int],
                    zero_row: int) -> Program:
        prog: Program = []
        for a, t in zip(a_rows, t_rows, strict=True):
            prog += [activate(a, b_row, zero_row), sense(SenseFn.FA3), write(t, Source.CARRY)]
        return prog

    def and_counts(self, m: int) -> dict[str, int]:
        return full_counts(activate=m, row_opens=3 * m, sense=m, write=m)


@ADDER_STYLES.register
class FatAdder(AdderStyle):
    """FAT: a two-row add per bit, the carry kept in the sense amplifier's latch."""

    name = "fat"
    description = "carry kept in the sense-amplifier latch (two-row activation)"
    carry_rows = 0

    def program(self, acc: list[int], source: list[int], operand: list[int],
                carry_row: int | None, subtract: bool) -> Program:
        if carry_row is not None:
            raise ValueError(
                f"style {self.name!r} keeps the carry in the SA latch: carry_row must be None")
        prog: Program = [set_latch(subtract)]
        for a, s, b in zip(acc, source, operand, strict=True):
            prog += [
                activate(s, b),
                sense(SenseFn.FA_LATCHED, subtract),
                latch(),
                write(a, Source.SUM),
            ]
        return prog

    def _counts(self, n: int) -> dict[str, int]:
        return full_counts(activate=n, row_opens=2 * n, sense=n, latch=n + 1, write=n)

    def and_program(self, a_rows: list[int], b_row: int, t_rows: list[int],
                    zero_row: int) -> Program:
        prog: Program = [set_latch(0)]  # the latch is the third input: 0
        for a, t in zip(a_rows, t_rows, strict=True):
            prog += [activate(a, b_row), sense(SenseFn.FA_LATCHED), write(t, Source.CARRY)]
        return prog

    def and_counts(self, m: int) -> dict[str, int]:
        return full_counts(activate=m, row_opens=2 * m, sense=m, latch=1, write=m)


def adder_style(style: str | AdderStyle) -> AdderStyle:
    """The registered style of that name (an `AdderStyle` is returned as is)."""
    return style if isinstance(style, AdderStyle) else ADDER_STYLES.named(style)


def add_program(
    style: str | AdderStyle,
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
    acc = [as_row(r) for r in acc_rows]
    ops = [as_row(r) for r in operand_rows]
    z = as_row(zero_row)
    n, m = len(acc), len(ops)
    if n < 1 or not 1 <= m <= n:
        raise ValueError(f"need 1 <= len(operand_rows) <= len(acc_rows), got m={m}, n={n}")
    if len(set(acc)) != n:
        raise ValueError(f"acc_rows must be distinct: {acc}")
    if set(acc) & (set(ops) | {z}):
        raise ValueError("acc_rows must not overlap operand_rows or zero_row")
    operand = ops + [z] * (n - m)
    src = acc
    if source_rows is not None:
        src = [as_row(r) for r in source_rows]
        if len(src) != n:
            raise ValueError(f"source_rows needs {n} rows, got {len(src)}")
        if set(src) & (set(operand) | set(acc)):
            raise ValueError("source_rows must not overlap acc, operand or zero rows")
    return adder_style(style).program(acc, src, operand, carry_row, bool(subtract))


def add_counts(style: str | AdderStyle, n: int) -> dict[str, int]:
    """Closed-form primitive counts of an n-bit add/subtract (same for both directions)."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return adder_style(style).counts(n)
