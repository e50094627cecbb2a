"""A digital bit-serial in-memory-computing subarray: a bit matrix with sense amplifiers.

Numbers are stored vertically: an n-bit value occupies n rows (LSB first) of one column,
and every column computes in parallel (one sense amplifier per column, a SIMD lane).
`BitArray` implements the counted primitives a micro-program is made of:

- ``activate(rows)``: open one or more word lines (multi-row activation);
  counts ``activate`` +1 and ``row_opens`` += len(rows).
- ``sense(fn, invert_operand)``: the sense amplifiers evaluate a function of the opened
  cells into ``sa_sum`` / ``sa_carry``; counts ``sense`` +1.
- ``latch()`` / ``set_latch(v)``: FAT's carry latch; counts ``latch`` +1.
- ``write(row, source)``: write the sum, the carry, a constant or external data into a
  row; counts ``write`` +1.

`store_values` / `load_values` move integer vectors in and out WITHOUT counting: they are
for test set-up and result checking only. Programs use counted ``write(row, "data")``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from enum import IntEnum

import numpy as np

__all__ = [
    "COUNT_KEYS",
    "BitArray",
    "SenseFn",
    "Source",
    "bits_to_values",
    "values_to_bits",
]

#: The primitive counters a BitArray (and every executor) maintains, in a fixed order.
COUNT_KEYS: tuple[str, ...] = ("activate", "row_opens", "sense", "latch", "write")


class SenseFn(IntEnum):
    """What the sense amplifiers compute from the opened rows.

    READ: one row [a]: sa_sum = a, sa_carry = 0.
    FA3 (ParaPIM): three rows [a, b, c]: sa_sum = a ^ b' ^ c, sa_carry = maj(a, b', c).
    FA_LATCHED (FAT): two rows [a, b]: sa_sum = a ^ b' ^ L, sa_carry = maj(a, b', L),
    with L the carry latch. b' = ~b when the operand is inverted, else b.
    """

    READ = 0
    FA3 = 1
    FA_LATCHED = 2


#: Number of opened rows each sense function requires.
SENSE_ARITY: dict[SenseFn, int] = {SenseFn.READ: 1, SenseFn.FA3: 3, SenseFn.FA_LATCHED: 2}


class Source(IntEnum):
    """What ``write`` puts into a row."""

    SUM = 0
    CARRY = 1
    CONST0 = 2
    CONST1 = 3
    DATA = 4


def as_sense_fn(fn: SenseFn | str) -> SenseFn:
    """Accept a SenseFn or its lower-case name ("read", "fa3", "fa_latched")."""
    if isinstance(fn, SenseFn):
        return fn
    try:
        return SenseFn[str(fn).upper()]
    except KeyError:
        raise ValueError(f"unknown sense function {fn!r}") from None


def as_source(source: Source | str) -> Source:
    """Accept a Source or its lower-case name ("sum", "carry", "const0", "const1", "data")."""
    if isinstance(source, Source):
        return source
    try:
        return Source[str(source).upper()]
    except KeyError:
        raise ValueError(f"unknown write source {source!r}") from None


def values_to_bits(
    values: np.ndarray | Sequence[int] | int, bits: int, cols: int | None = None
) -> np.ndarray:
    """Two's-complement bit planes of an integer vector: bool array [bits, cols], LSB first.

    Values must fit in `bits` bits either as signed or as unsigned numbers
    (-2**(bits-1) <= v < 2**bits). A scalar is broadcast to `cols` columns.
    """
    if not 1 <= bits <= 62:
        raise ValueError(f"bits must be in 1..62, got {bits}")
    v = np.asarray(values, dtype=np.int64)
    if v.ndim == 0:
        if cols is None:
            raise ValueError("a scalar value needs cols")
        v = np.full(cols, int(v), dtype=np.int64)
    if v.ndim != 1 or (cols is not None and v.shape[0] != cols):
        raise ValueError(f"values must be a vector of {cols} integers, got shape {v.shape}")
    lo, hi = -(1 << (bits - 1)), (1 << bits) - 1
    if v.size and (v.min() < lo or v.max() > hi):
        raise ValueError(f"values out of range for {bits} bits: [{v.min()}, {v.max()}]")
    shifts = np.arange(bits, dtype=np.int64)[:, None]
    return ((v[None, :] >> shifts) & 1).astype(np.bool_)


def bits_to_values(bits: np.ndarray, signed: bool) -> np.ndarray:
    """Integers (int64 [cols]) from bit planes [n, cols] stored LSB first (two's complement)."""
    b = np.asarray(bits, dtype=np.bool_)
    n = b.shape[0]
    if not 1 <= n <= 63:
        raise ValueError(f"need 1..63 bit planes, got {n}")
    weights = np.left_shift(np.int64(1), np.arange(n, dtype=np.int64))
    v = (b.astype(np.int64) * weights[:, None]).sum(axis=0)
    if signed:
        v = np.where(b[-1], v - (np.int64(1) << np.int64(n)), v)
    return v.astype(np.int64)


class BitArray:
    """A rows x cols bit matrix with one sense amplifier (sum, carry, latch) per column.

    Attributes:
        mem: np.bool_ [rows, cols], the memory cells.
        sa_sum, sa_carry: np.bool_ [cols], the sense amplifiers' last outputs.
        latch: np.bool_ [cols], FAT's carry latch L.
        counts: Counter of primitives executed (keys in COUNT_KEYS).
        open_rows: the rows opened by the last ``activate`` (empty before the first).
    """

    def __init__(self, rows: int, cols: int) -> None:
        if rows < 1 or cols < 1:
            raise ValueError(f"a BitArray needs rows >= 1 and cols >= 1, got {rows}x{cols}")
        self.rows = int(rows)
        self.cols = int(cols)
        self.mem = np.zeros((self.rows, self.cols), dtype=np.bool_)
        self.sa_sum = np.zeros(self.cols, dtype=np.bool_)
        self.sa_carry = np.zeros(self.cols, dtype=np.bool_)
        self.latch = np.zeros(self.cols, dtype=np.bool_)
        self.counts: Counter[str] = Counter()
        self.open_rows: tuple[int, ...] = ()

    def __repr__(self) -> str:
        return f"BitArray(rows={self.rows}, cols={self.cols})"

    # ---- checks ---------------------------------------------------------------------
    def check_row(self, row: int) -> int:
        """Return `row` as an int, or raise ValueError when it is not in 0..rows-1."""
        r = int(row)
        if r != row or not 0 <= r < self.rows:
            raise ValueError(f"row {row!r} out of range 0..{self.rows - 1}")
        return r

    def check_rows(self, rows: Sequence[int]) -> tuple[int, ...]:
        """Check every row is in range and none repeats; return them as a tuple of ints."""
        out = tuple(self.check_row(r) for r in rows)
        if len(set(out)) != len(out):
            raise ValueError(f"rows must be distinct, got {list(rows)}")
        return out

    def _data_vector(self, data: np.ndarray | Sequence[bool] | None) -> np.ndarray:
        if data is None:
            raise ValueError('write(row, "data") needs a data vector')
        d = np.asarray(data, dtype=np.bool_)
        if d.shape != (self.cols,):
            raise ValueError(f"data must be a bool vector of {self.cols}, got shape {d.shape}")
        return d

    # ---- counted primitives ---------------------------------------------------------
    def activate(self, rows: Sequence[int]) -> None:
        """Open the word lines `rows` (1..3 distinct rows). Counts activate, row_opens."""
        opened = self.check_rows(rows)
        if not 1 <= len(opened) <= 3:
            raise ValueError(f"activate opens 1..3 rows, got {len(opened)}")
        self.open_rows = opened
        self.counts["activate"] += 1
        self.counts["row_opens"] += len(opened)

    def sense(self, fn: SenseFn | str, invert_operand: bool = False) -> None:
        """Evaluate `fn` on the opened rows into sa_sum / sa_carry. Counts sense.

        The latch is NOT updated here (FAT computes the sum from the old latch; call
        ``latch()`` afterwards). ``invert_operand`` inverts the second opened row.
        """
        f = as_sense_fn(fn)
        need = SENSE_ARITY[f]
        if len(self.open_rows) != need:
            raise ValueError(f"sense {f.name} needs {need} open rows, have {len(self.open_rows)}")
        m = self.mem
        if f is SenseFn.READ:
            self.sa_sum = m[self.open_rows[0]].copy()
            self.sa_carry = np.zeros(self.cols, dtype=np.bool_)
        else:
            a = m[self.open_rows[0]]
            b = m[self.open_rows[1]] ^ bool(invert_operand)
            c = m[self.open_rows[2]] if f is SenseFn.FA3 else self.latch
            self.sa_sum = a ^ b ^ c
            self.sa_carry = (a & b) | (c & (a ^ b))
        self.counts["sense"] += 1

    def latch_carry(self) -> None:
        """L := sa_carry (FAT's carry latch). Counts latch."""
        self.latch = self.sa_carry.copy()
        self.counts["latch"] += 1

    def set_latch(self, value: bool | int) -> None:
        """L := value in every column. Counts latch."""
        self.latch = np.full(self.cols, bool(value), dtype=np.bool_)
        self.counts["latch"] += 1

    def write(
        self,
        row: int,
        source: Source | str,
        data: np.ndarray | Sequence[bool] | None = None,
    ) -> None:
        """row := sa_sum, sa_carry, constant 0/1 or external `data` (bool [cols]). Counts write."""
        r = self.check_row(row)
        s = as_source(source)
        if s is Source.SUM:
            self.mem[r] = self.sa_sum
        elif s is Source.CARRY:
            self.mem[r] = self.sa_carry
        elif s is Source.CONST0:
            self.mem[r] = False
        elif s is Source.CONST1:
            self.mem[r] = True
        else:
            self.mem[r] = self._data_vector(data)
        self.counts["write"] += 1

    # ---- uncounted helpers (test set-up and checking) ---------------------------------
    def store_values(
        self,
        rows_lsb_first: Sequence[int],
        values: np.ndarray | Sequence[int] | int,
        bits: int | None = None,
    ) -> None:
        """Write integers (two's complement, LSB in rows_lsb_first[0]) WITHOUT counting.

        `bits` defaults to len(rows_lsb_first) and must equal it when given.
        """
        rows = self.check_rows(rows_lsb_first)
        n = len(rows) if bits is None else int(bits)
        if n != len(rows):
            raise ValueError(f"bits={bits} but {len(rows)} rows given")
        self.mem[list(rows)] = values_to_bits(values, n, self.cols)

    def load_values(self, rows_lsb_first: Sequence[int], signed: bool) -> np.ndarray:
        """Read integers (int64 [cols]) stored in rows_lsb_first WITHOUT counting."""
        rows = self.check_rows(rows_lsb_first)
        if not rows:
            raise ValueError("load_values needs at least one row")
        return bits_to_values(self.mem[list(rows)], signed)

    def reset_counts(self) -> Counter[str]:
        """Clear the counters and return what they held."""
        old, self.counts = self.counts, Counter()
        return old
