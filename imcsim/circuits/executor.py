"""Executors of bit-serial micro-programs on a `BitArray`.

- `run(program, ba)`: the reference interpreter; one BitArray primitive per instruction,
  each vectorised over the columns with numpy. Clear, slow-ish (Python per instruction).
- `compile_program(program)` -> `CompiledProgram` (an int32 [k, 5] opcode array plus the
  external data rows), `concat(...)` to join compiled programs cheaply, and
  `run_fast(compiled, ba)`: one numba kernel call runs the whole program over the bool
  matrix. `run_many(programs, ba)` compiles (cached for add programs via `compile_add`),
  concatenates and runs a long sequence in one kernel call.

Both executors update ``ba.mem``, the SA state, ``ba.open_rows`` and ``ba.counts`` the same
way, bit for bit, and return an `ExecResult` (the bits read out, and this run's counts).
numba is imported lazily (`import imcsim` stays light); the kernel is cached on disk.

Opcode array layout, one row per instruction (unused fields are 0):
    ACTIVATE  [0, nrows, r0, r1, r2]   (r1/r2 = -1 when not opened)
    SENSE     [1, fn, invert, 0, 0]
    LATCH     [2, 0, 0, 0, 0]
    SET_LATCH [3, value, 0, 0, 0]
    WRITE     [4, row, source, data_index, 0]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from imcsim.circuits.adder_styles import AdderStyle, add_program
from imcsim.circuits.bitarray import COUNT_KEYS, BitArray, SenseFn, Source, bits_to_values
from imcsim.circuits.microprogram import Instr, Op, Program

__all__ = [
    "CompiledProgram",
    "ExecResult",
    "compile_add",
    "compile_program",
    "concat",
    "run",
    "run_fast",
    "run_many",
]


@dataclass(frozen=True, eq=False)
class ExecResult:
    """What a run returns: bits read out (bool [n_reads, cols], in order) and its counts."""

    reads: np.ndarray
    counts: Counter[str] = field(default_factory=Counter)

    def values(self, signed: bool) -> np.ndarray:
        """The read bits as one integer per column (reads taken as LSB-first bit planes)."""
        return bits_to_values(self.reads, signed)


def _counter(vec: Iterable[int]) -> Counter[str]:
    return Counter({k: int(v) for k, v in zip(COUNT_KEYS, vec, strict=True) if v})


# ---- reference interpreter --------------------------------------------------------------
def run(program: Iterable[Instr], ba: BitArray) -> ExecResult:
    """Execute `program` on `ba` one primitive at a time (the reference semantics)."""
    before = ba.counts.copy()
    reads: list[np.ndarray] = []
    for ins in program:
        op = ins.op
        if op is Op.ACTIVATE:
            ba.activate(ins.rows)
        elif op is Op.SENSE:
            ba.sense(ins.fn, ins.invert)
            if ins.fn is SenseFn.READ:
                reads.append(ba.sa_sum.copy())
        elif op is Op.LATCH:
            ba.latch_carry()
        elif op is Op.SET_LATCH:
            ba.set_latch(ins.value)
        elif op is Op.WRITE:
            ba.write(ins.rows[0], ins.source, ins.data)
        else:  # pragma: no cover - Op is closed
            raise ValueError(f"unknown opcode {op!r}")
    out = np.array(reads, dtype=np.bool_).reshape(len(reads), ba.cols)
    return ExecResult(out, ba.counts - before)


# ---- compiled form --------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class CompiledProgram:
    """A program as an int32 opcode array [k, 5] plus external data rows bool [d, cols].

    `n_reads` is the number of read senses, `max_row` the highest row it touches (-1 if
    none), `data_cols` the width of the data rows (None when the program has none).
    """

    code: np.ndarray
    data: np.ndarray
    n_reads: int
    max_row: int
    data_cols: int | None

    def __len__(self) -> int:
        return int(self.code.shape[0])


def _freeze(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def compile_program(program: Iterable[Instr]) -> CompiledProgram:
    """Translate a list of `Instr` into the compact opcode array of the fast executor."""
    prog = list(program)
    code = np.zeros((len(prog), 5), dtype=np.int32)
    data: list[np.ndarray] = []
    n_reads, max_row = 0, -1
    for k, ins in enumerate(prog):
        row = code[k]
        row[0] = int(ins.op)
        if ins.op is Op.ACTIVATE:
            row[1] = len(ins.rows)
            row[2:5] = -1
            row[2 : 2 + len(ins.rows)] = ins.rows
            max_row = max(max_row, *ins.rows)
        elif ins.op is Op.SENSE:
            row[1], row[2] = int(ins.fn), int(ins.invert)
            n_reads += ins.fn is SenseFn.READ
        elif ins.op is Op.SET_LATCH:
            row[1] = int(ins.value)
        elif ins.op is Op.WRITE:
            row[1], row[2] = ins.rows[0], int(ins.source)
            max_row = max(max_row, ins.rows[0])
            if ins.source is Source.DATA:
                row[3] = len(data)
                data.append(np.asarray(ins.data, dtype=np.bool_))
    widths = {d.shape[0] for d in data}
    if len(widths) > 1:
        raise ValueError(f"data rows of different widths in one program: {sorted(widths)}")
    data_cols = widths.pop() if widths else None
    darr = np.array(data, dtype=np.bool_).reshape(len(data), data_cols or 0)
    return CompiledProgram(_freeze(code), _freeze(darr), n_reads, max_row, data_cols)


def concat(parts: Iterable[CompiledProgram]) -> CompiledProgram:
    """Join compiled programs into one (data indices renumbered). Cheap: numpy only."""
    ps = list(parts)
    if not ps:
        return compile_program([])
    widths = {p.data_cols for p in ps if p.data_cols is not None}
    if len(widths) > 1:
        raise ValueError(f"data rows of different widths: {sorted(widths)}")
    codes, offset = [], 0
    for p in ps:
        c = p.code
        if p.data.shape[0]:
            c = c.copy()
            c[(c[:, 0] == Op.WRITE) & (c[:, 2] == Source.DATA), 3] += offset
            offset += p.data.shape[0]
        codes.append(c)
    data_cols = widths.pop() if widths else None
    blocks = [p.data for p in ps if p.data.shape[0]]
    data = np.concatenate(blocks) if blocks else np.zeros((0, data_cols or 0), dtype=np.bool_)
    return CompiledProgram(
        _freeze(np.concatenate(codes, axis=0)),
        _freeze(data),
        sum(p.n_reads for p in ps),
        max(p.max_row for p in ps),
        data_cols,
    )


def compile_add(
    style: str | AdderStyle,
    acc_rows: Sequence[int],
    operand_rows: Sequence[int],
    zero_row: int,
    carry_row: int | None = None,
    subtract: bool = False,
    source_rows: Sequence[int] | None = None,
) -> CompiledProgram:
    """`compile_program(add_program(...))`, memoised on its arguments (arrays read-only)."""
    return _compile_add(
        style, tuple(acc_rows), tuple(operand_rows), zero_row, carry_row, bool(subtract),
        None if source_rows is None else tuple(source_rows),
    )


@lru_cache(maxsize=4096)
def _compile_add(
    style: str | AdderStyle,
    acc_rows: tuple[int, ...],
    operand_rows: tuple[int, ...],
    zero_row: int,
    carry_row: int | None,
    subtract: bool,
    source_rows: tuple[int, ...] | None = None,
) -> CompiledProgram:
    return compile_program(
        add_program(style, acc_rows, operand_rows, zero_row, carry_row, subtract, source_rows)
    )


# ---- numba kernel ---------------------------------------------------------------------------
def _kernel_py(code, data, mem, sa_sum, sa_carry, latch, reads, counts, state):  # noqa: C901
    """Run opcode array `code` on the bool matrix `mem` (compiled by numba, see _kernel).

    `state` = [n_open, r0, r1, r2] in and out; `counts` (int64 [5], COUNT_KEYS order) is
    incremented. Returns -1 on success, else the index of a sense whose function does not
    match the number of opened rows (nothing of that instruction is executed).
    """
    ncols = mem.shape[1]
    nopen, r0, r1, r2 = state[0], state[1], state[2], state[3]
    nread = 0
    status = -1
    for k in range(code.shape[0]):
        op = code[k, 0]
        if op == 0:  # ACTIVATE
            nopen = code[k, 1]
            r0, r1, r2 = code[k, 2], code[k, 3], code[k, 4]
            counts[0] += 1
            counts[1] += nopen
        elif op == 1:  # SENSE
            fn = code[k, 1]
            inv = code[k, 2] != 0
            if fn == 0:
                if nopen != 1:
                    status = k
                    break
                for c in range(ncols):
                    s = mem[r0, c]
                    sa_sum[c] = s
                    sa_carry[c] = False
                    reads[nread, c] = s
                nread += 1
            elif fn == 1:
                if nopen != 3:
                    status = k
                    break
                for c in range(ncols):
                    a = mem[r0, c]
                    b = mem[r1, c] ^ inv
                    x = mem[r2, c]
                    t = a ^ b
                    sa_sum[c] = t ^ x
                    sa_carry[c] = (a & b) | (x & t)
            else:
                if nopen != 2:
                    status = k
                    break
                for c in range(ncols):
                    a = mem[r0, c]
                    b = mem[r1, c] ^ inv
                    x = latch[c]
                    t = a ^ b
                    sa_sum[c] = t ^ x
                    sa_carry[c] = (a & b) | (x & t)
            counts[2] += 1
        elif op == 2:  # LATCH
            for c in range(ncols):
                latch[c] = sa_carry[c]
            counts[3] += 1
        elif op == 3:  # SET_LATCH
            v = code[k, 1] != 0
            for c in range(ncols):
                latch[c] = v
            counts[3] += 1
        else:  # WRITE
            r = code[k, 1]
            src = code[k, 2]
            if src == 0:
                for c in range(ncols):
                    mem[r, c] = sa_sum[c]
            elif src == 1:
                for c in range(ncols):
                    mem[r, c] = sa_carry[c]
            elif src == 2 or src == 3:
                v = src == 3
                for c in range(ncols):
                    mem[r, c] = v
            else:
                d = code[k, 3]
                for c in range(ncols):
                    mem[r, c] = data[d, c]
            counts[4] += 1
    state[0], state[1], state[2], state[3] = nopen, r0, r1, r2
    return status


_KERNEL: list[Callable[..., int]] = []


def _kernel() -> Callable[..., int]:
    """The numba-compiled kernel (numba imported and the kernel compiled on first use)."""
    if not _KERNEL:
        import numba

        from imcsim.jit import announce_compilation

        kernel = numba.njit(cache=True, nogil=True)(_kernel_py)
        announce_compilation([kernel])
        _KERNEL.append(kernel)
    return _KERNEL[0]


def run_fast(program: CompiledProgram | Iterable[Instr], ba: BitArray) -> ExecResult:
    """Execute a (compiled) program on `ba` in one numba kernel call.

    Same effects and results as `run`. Raises ValueError (before touching `ba`) for rows
    out of range or data of the wrong width, and (mid-run, like `run`) for a sense whose
    function does not match the number of opened rows.
    """
    cp = program if isinstance(program, CompiledProgram) else compile_program(program)
    if cp.max_row >= ba.rows:
        raise ValueError(f"row {cp.max_row} out of range 0..{ba.rows - 1}")
    if cp.data_cols is not None and cp.data_cols != ba.cols:
        raise ValueError(f"data rows have {cp.data_cols} columns, the array has {ba.cols}")
    for name in ("mem", "sa_sum", "sa_carry", "latch"):
        arr = getattr(ba, name)
        if not (arr.dtype == np.bool_ and arr.flags.c_contiguous and arr.flags.writeable):
            setattr(ba, name, np.ascontiguousarray(arr, dtype=np.bool_).copy())
    data = cp.data if cp.data.shape[0] else np.zeros((0, ba.cols), dtype=np.bool_)
    reads = np.zeros((cp.n_reads, ba.cols), dtype=np.bool_)
    counts = np.zeros(len(COUNT_KEYS), dtype=np.int64)
    opened = list(ba.open_rows) + [-1] * (3 - len(ba.open_rows))
    state = np.array([len(ba.open_rows), *opened], dtype=np.int64)
    status = _kernel()(
        cp.code, data, ba.mem, ba.sa_sum, ba.sa_carry, ba.latch, reads, counts, state
    )
    ba.open_rows = tuple(int(r) for r in state[1 : 1 + state[0]])
    c = _counter(counts)
    ba.counts.update(c)
    if status >= 0:
        raise ValueError(f"instruction {status}: sense function does not match the opened rows")
    return ExecResult(reads, c)


def run_many(programs: Iterable[CompiledProgram | Program], ba: BitArray) -> ExecResult:
    """Run a long sequence of programs (compiled or not) as one kernel call."""
    parts = [p if isinstance(p, CompiledProgram) else compile_program(p) for p in programs]
    return run_fast(concat(parts), ba)
