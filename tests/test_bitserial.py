"""Bit-serial micro-programs: arithmetic against integers, executors agree, closed-form counts."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imcsim.circuits import microprogram as mp
from imcsim.circuits.adder_styles import (
    ADDER_STYLES,
    ZERO_ROWS,
    AdderStyle,
    add_counts,
    add_program,
    adder_style,
)
from imcsim.circuits.bitarray import BitArray, bits_to_values, values_to_bits
from imcsim.circuits.executor import (
    compile_add,
    compile_program,
    concat,
    run,
    run_fast,
    run_many,
)
from imcsim.designs.bitserial.schema import SENSE_AMP_KINDS

SETTINGS = settings(max_examples=60, deadline=None)


def nz(d) -> Counter:
    """Counts without zero entries (closed forms list every key)."""
    return Counter({k: v for k, v in dict(d).items() if v})


def carry_for(style: str | AdderStyle, row: int) -> int | None:
    """The carry row argument of `add_program`: `row` if the style keeps a carry row."""
    return row if adder_style(style).carry_rows else None


def wrap(v: np.ndarray, n: int) -> np.ndarray:
    """Integers mod 2**n, as signed n-bit two's complement."""
    m = np.int64(1) << np.int64(n)
    v = np.asarray(v, dtype=np.int64) & (m - 1)
    return np.where(v >= m >> 1, v - m, v)


def assert_same_state(a: BitArray, b: BitArray) -> None:
    np.testing.assert_array_equal(a.mem, b.mem)
    np.testing.assert_array_equal(a.sa_sum, b.sa_sum)
    np.testing.assert_array_equal(a.sa_carry, b.sa_carry)
    np.testing.assert_array_equal(a.latch, b.latch)
    assert a.open_rows == b.open_rows
    assert a.counts == b.counts


def layout(rng: np.random.Generator, n: int, m: int, rows: int):
    """Random distinct rows for acc (n), operand (m), zero and carry."""
    perm = [int(r) for r in rng.permutation(rows)[: n + m + 2]]
    return perm[:n], perm[n : n + m], perm[n + m], perm[n + m + 1]


@st.composite
def add_case(draw):
    n = draw(st.integers(2, 32))
    m = draw(st.integers(1, n))
    return (
        draw(st.sampled_from(tuple(ADDER_STYLES))),
        n,
        m,
        draw(st.booleans()),  # subtract
        draw(st.integers(1, 96)),  # cols
        draw(st.integers(0, 2**32 - 1)),  # seed
    )


@SETTINGS
@given(add_case())
def test_first_operation_from_a_zero_row_needs_no_reset(case):
    """acc := 0 +/- operand read from a second zero row: garbage in acc is overwritten,
    same primitive counts as an ordinary add (so the accumulator reset can be dropped)."""
    style, n, m, subtract, cols, seed = case
    rng = np.random.default_rng(seed)
    rows = n + m + 4
    acc, op, zero, carry = layout(rng, n, m, rows - 1)
    zero2 = rows - 1
    x = rng.integers(-(2 ** (n - 1)), 2 ** (n - 1), cols) if m == n else rng.integers(0, 2**m, cols)
    ba = BitArray(rows, cols)
    ba.mem[:] = rng.random((rows, cols)) < 0.5  # the accumulator holds garbage
    ba.store_values(op, x, m)
    ba.mem[zero] = False
    ba.mem[zero2] = False
    prog = add_program(style, acc, op, zero, carry_for(style, carry), subtract,
                       source_rows=[zero2] * n)
    res = run_fast(compile_program(prog), ba)
    np.testing.assert_array_equal(ba.load_values(acc, signed=True), wrap(-x if subtract else x, n))
    assert res.counts == nz(add_counts(style, n))
    assert not ba.mem[zero2].any()


@SETTINGS
@given(add_case())
def test_add_sub_matches_integers_and_executors_agree(case):
    style, n, m, subtract, cols, seed = case
    rng = np.random.default_rng(seed)
    rows = n + m + 2 + int(rng.integers(0, 8))
    acc, op, zero, carry = layout(rng, n, m, rows)
    a = rng.integers(-(2 ** (n - 1)), 2 ** (n - 1), cols)
    # operand: unsigned m-bit, or signed n-bit when m == n
    x = rng.integers(-(2 ** (n - 1)), 2 ** (n - 1), cols) if m == n else rng.integers(0, 2**m, cols)
    ref, fast = BitArray(rows, cols), BitArray(rows, cols)
    # random garbage everywhere else: programs must only depend on their own rows
    junk = rng.random((rows, cols)) < 0.5
    for ba in (ref, fast):
        ba.mem[:] = junk
        ba.store_values(acc, a)
        ba.store_values(op, x, m)
        ba.mem[zero] = False
    prog = add_program(style, acc, op, zero, carry_for(style, carry), subtract)
    r1 = run(prog, ref)
    r2 = run_fast(compile_program(prog), fast)

    expect = wrap(a - x if subtract else a + x, n)
    np.testing.assert_array_equal(ref.load_values(acc, signed=True), expect)
    assert_same_state(ref, fast)  # memory, SA state and counts, bit for bit
    assert r1.counts == r2.counts == mp.program_counts(prog) == nz(add_counts(style, n))
    # operand and zero rows untouched
    np.testing.assert_array_equal(ref.load_values(op, signed=m == n), x)
    assert not ref.mem[zero].any()


@pytest.mark.parametrize("name", list(ADDER_STYLES))
@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 32),  # accumulator bits n
    st.data(),
    st.integers(1, 64),  # cols
    st.integers(0, 2**32 - 1),  # seed
)
def test_every_registered_style_adds_and_subtracts(name, n, data, cols, seed):
    """Each style in ADDER_STYLES (passed as an AdderStyle): acc + x then acc - x match
    integer arithmetic mod 2**n, and each executed program's counts equal counts(n)."""
    style = ADDER_STYLES[name]
    m = data.draw(st.integers(1, n))
    rng = np.random.default_rng(seed)
    rows = n + m + 2
    acc, op, zero, carry = layout(rng, n, m, rows)
    a = rng.integers(-(2 ** (n - 1)), 2 ** (n - 1), cols)
    x = rng.integers(-(2 ** (n - 1)), 2 ** (n - 1), cols) if m == n else rng.integers(0, 2**m, cols)
    ba = BitArray(rows, cols)
    ba.mem[:] = rng.random((rows, cols)) < 0.5
    ba.store_values(acc, a)
    ba.store_values(op, x, m)
    ba.mem[zero] = False
    expect = a
    for subtract in (False, True):
        prog = add_program(style, acc, op, zero, carry_for(style, carry), subtract)
        res = run_fast(compile_program(prog), ba)
        expect = wrap(expect - x if subtract else expect + x, n)
        np.testing.assert_array_equal(ba.load_values(acc, signed=True), expect)
        assert res.counts == mp.program_counts(prog) == nz(style.counts(n))
        assert style.counts(n) == add_counts(name, n)


def test_adder_style_registry():
    assert SENSE_AMP_KINDS == tuple(ADDER_STYLES) == ("parapim", "fat")
    for name, style in ADDER_STYLES.items():
        assert isinstance(style, AdderStyle) and style.name == name
        assert adder_style(name) is style and adder_style(style) is style
        assert style.description and "\n" not in style.description
        assert style.reserved_rows == ZERO_ROWS + style.carry_rows
        with pytest.raises(ValueError):
            style.counts(0)
    assert [adder_style(s).reserved_rows for s in ("parapim", "fat")] == [3, 2]
    with pytest.raises(ValueError, match="parapim.*fat"):
        adder_style("other")
    with pytest.raises(ValueError, match="expected one of"):
        add_counts("other", 4)


@SETTINGS
@given(
    st.sampled_from(tuple(ADDER_STYLES)),
    st.integers(4, 24),  # accumulator bits
    st.integers(1, 8),  # activation bits
    st.integers(1, 40),  # length of the dot product
    st.integers(1, 64),  # cols
    st.integers(0, 2**32 - 1),
)
def test_ternary_dot_product(style, n, m, k, cols, seed):
    """acc = sum_j w_j * x_j with w in {-1, 0, +1}: load x_j, add/sub/skip, read out."""
    m = min(m, n)
    rng = np.random.default_rng(seed)
    acc, op = list(range(n)), list(range(n, n + m))
    zero, carry = n + m, n + m + 1
    carry_row = carry_for(style, carry)
    xs = rng.integers(0, 2**m, (k, cols))
    ws = rng.integers(-1, 2, k)

    programs: list[mp.Program] = [mp.reset_program(acc)]
    for w, x in zip(ws, xs, strict=True):
        if w == 0:
            continue  # zero skipping
        programs.append(mp.load_program(op, values_to_bits(x, m)))
        programs.append(add_program(style, acc, op, zero, carry_row, subtract=w < 0))
    programs.append(mp.readout_program(acc))

    ref, fast = BitArray(n + m + 2, cols), BitArray(n + m + 2, cols)
    ref.mem[:] = fast.mem[:] = rng.random((n + m + 2, cols)) < 0.5
    ref.mem[zero] = fast.mem[zero] = False
    res_ref = run([ins for p in programs for ins in p], ref)
    res_fast = run_many(programs, fast)

    expect = wrap((ws[:, None] * xs).sum(axis=0), n)
    np.testing.assert_array_equal(ref.load_values(acc, signed=True), expect)
    np.testing.assert_array_equal(res_ref.values(signed=True), expect)
    np.testing.assert_array_equal(res_ref.reads, res_fast.reads)
    assert_same_state(ref, fast)
    nnz = int(np.count_nonzero(ws))
    closed = (
        Counter(mp.reset_counts(n))
        + Counter({key: nnz * v for key, v in add_counts(style, n).items()})
        + Counter({key: nnz * v for key, v in mp.load_counts(op).items()})
        + Counter(mp.readout_counts(n))
    )
    assert res_ref.counts == res_fast.counts == nz(closed)


@pytest.mark.parametrize("n", [1, 3, 17])
def test_closed_forms_of_helper_programs(n):
    rows = list(range(n))
    bits = np.zeros((n, 5), dtype=np.bool_)
    for prog, closed in [
        (mp.reset_program(rows), mp.reset_counts(n)),
        (mp.readout_program(rows), mp.readout_counts(n)),
        (mp.load_program(rows, bits), mp.load_counts(rows)),
        (mp.load_program(rows, bits), mp.load_counts(n)),
    ]:
        ba, bf = BitArray(n, 5), BitArray(n, 5)
        assert run(prog, ba).counts == run_fast(prog, bf).counts
        assert ba.counts == mp.program_counts(prog) == nz(closed)
    for style in ADDER_STYLES:
        prog = add_program(style, rows, [n], n + 1, carry_for(style, n + 2))
        assert mp.program_counts(prog) == nz(add_counts(style, n))


def test_fat_latch_uses_old_carry():
    """FAT sense computes the sum from the OLD latch; latch() then updates it."""
    ba = BitArray(2, 1)
    ba.mem[:, 0] = [True, True]
    ba.set_latch(1)
    ba.activate([0, 1])
    ba.sense("fa_latched")
    assert ba.sa_sum[0] and ba.sa_carry[0]  # 1 + 1 + 1 = 0b11
    ba.mem[:, 0] = [False, False]
    ba.sense("fa_latched")
    assert ba.sa_sum[0] and not ba.sa_carry[0]  # latch still 1 (not latched yet)
    ba.latch_carry()
    assert not ba.latch[0]


def test_values_roundtrip():
    v = np.array([-8, -1, 0, 7, 15])
    assert (bits_to_values(values_to_bits(v, 5), signed=True) == v).all()
    assert (bits_to_values(values_to_bits(np.array([0, 15]), 4), signed=False) == [0, 15]).all()
    with pytest.raises(ValueError):
        values_to_bits(np.array([16]), 4)
    with pytest.raises(ValueError):
        values_to_bits(np.array([-9]), 4)


def test_out_of_range_rows_raise():
    ba = BitArray(8, 4)
    with pytest.raises(ValueError):
        ba.activate([0, 8])
    with pytest.raises(ValueError):
        ba.activate([0, 0])
    with pytest.raises(ValueError):
        ba.write(-1, "const0")
    with pytest.raises(ValueError):
        ba.write(8, "sum")
    with pytest.raises(ValueError):
        ba.store_values([6, 7, 8], np.zeros(4, dtype=np.int64))
    with pytest.raises(ValueError):
        ba.load_values([9], signed=False)
    with pytest.raises(ValueError):
        mp.activate(-1)
    prog = add_program("fat", [0, 1, 2, 3], [4, 5], zero_row=8)
    for executor in (run, run_fast):
        with pytest.raises(ValueError):
            executor(prog, BitArray(8, 4))
    fresh = BitArray(8, 4)
    with pytest.raises(ValueError):  # fast path checks before touching the array
        run_fast(mp.readout_program([9]), fresh)
    assert fresh.counts == Counter() and not fresh.mem.any()


def test_bad_programs_raise():
    with pytest.raises(ValueError):
        add_program("parapim", [0, 1], [2], zero_row=3)  # no carry row
    with pytest.raises(ValueError):
        add_program("fat", [0, 1], [2], zero_row=3, carry_row=4)
    with pytest.raises(ValueError):
        add_program("fat", [0, 1], [2, 3, 4], zero_row=5)  # m > n
    with pytest.raises(ValueError):
        add_program("fat", [0, 1], [1], zero_row=5)  # overlap
    with pytest.raises(ValueError):
        add_program("other", [0, 1], [2], zero_row=3)
    bad = [mp.activate(0, 1), mp.sense("fa3")]  # fa3 needs three rows
    for executor in (run, run_fast):
        with pytest.raises(ValueError):
            executor(bad, BitArray(4, 3))
    with pytest.raises(ValueError):  # data of the wrong width
        run_fast(mp.load_program([0], np.zeros((1, 5), dtype=np.bool_)), BitArray(4, 3))


def test_concat_and_compile_add_cache():
    a = compile_add("fat", (0, 1, 2), (3,), 4)
    assert compile_add("fat", (0, 1, 2), (3,), 4) is a
    assert compile_add("fat", [0, 1, 2], [3], 4) is a
    load = compile_program(mp.load_program([3], np.ones((1, 2), dtype=np.bool_)))
    both = concat([load, a, load, a, compile_program(mp.readout_program([0, 1, 2]))])
    assert len(both) == 2 * len(load) + 2 * len(a) + 6 and both.data.shape == (2, 2)
    ba = BitArray(5, 2)
    assert (run_fast(both, ba).values(signed=False) == 2).all()
