"""The bit-serial multiply micro-program against integer multiplication, in both adder
styles, signed and unsigned, across widths; its executed and static counts against the
closed form; and the fast executor against the interpreter."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imcsim.circuits import microprogram as mp
from imcsim.circuits.adder_styles import ADDER_STYLES
from imcsim.circuits.bitarray import BitArray
from imcsim.circuits.executor import compile_program, run, run_fast
from imcsim.circuits.multiply import multiply_counts, multiply_program


def nonzero(counts):
    return {k: v for k, v in counts.items() if v}


@settings(max_examples=120, deadline=None)
@given(st.sampled_from(list(ADDER_STYLES)), st.integers(1, 9), st.integers(1, 9),
       st.booleans(), st.integers(1, 24), st.integers(0, 2**32 - 1))
def test_multiply_matches_integers(style, m, k, signed, cols, seed):
    rng = np.random.default_rng(seed)
    carry = ADDER_STYLES[style].carry_rows
    rows = 3 * m + 2 * k + 2 + carry + int(rng.integers(0, 4))
    perm = rng.permutation(rows)  # rows anywhere in the subarray
    a_rows, b_rows = perm[:m], perm[m:m + k]
    p_rows, t_rows = perm[m + k:2 * m + 2 * k], perm[2 * m + 2 * k:3 * m + 2 * k]
    z, z2 = perm[3 * m + 2 * k], perm[3 * m + 2 * k + 1]
    carry_row = int(perm[3 * m + 2 * k + 2]) if carry else None
    if signed:
        a = rng.integers(-(2 ** (m - 1)), 2 ** (m - 1), cols)
        b = rng.integers(-(2 ** (k - 1)), 2 ** (k - 1), cols)
    else:
        a, b = rng.integers(0, 2**m, cols), rng.integers(0, 2**k, cols)
    ref, fast = BitArray(rows, cols), BitArray(rows, cols)
    junk = rng.random((rows, cols)) < 0.5  # P and T start as garbage: no reset needed
    for ba in (ref, fast):
        ba.mem[:] = junk
        ba.store_values(a_rows, a, m)
        ba.store_values(b_rows, b, k)
        ba.mem[[z, z2]] = False
    prog = multiply_program(style, a_rows, b_rows, p_rows, t_rows, z, z2, carry_row, signed)
    r1, r2 = run(prog, ref), run_fast(compile_program(prog), fast)
    np.testing.assert_array_equal(ref.load_values(p_rows, signed=signed), a * b)
    np.testing.assert_array_equal(ref.mem, fast.mem)
    assert r1.counts == r2.counts == mp.program_counts(prog) == nonzero(
        multiply_counts(style, m, k))
    np.testing.assert_array_equal(ref.load_values(a_rows, signed=signed), a)  # untouched
    np.testing.assert_array_equal(ref.load_values(b_rows, signed=signed), b)


@pytest.mark.parametrize("style", list(ADDER_STYLES))
def test_closed_form_8x8(style):
    """8 x 8 bits: 8 ANDs of 8 bits and additions of 16, 15, ..., 9 bits."""
    counts = multiply_counts(style, 8, 8)
    assert counts["sense"] == 8 * 8 + sum(range(9, 17))
    per_add_write = 2 if style == "parapim" else 1  # sum and carry written back, or sum only
    assert counts["write"] == 8 * 8 + per_add_write * sum(range(9, 17)) + (
        8 if style == "parapim" else 0)


def test_overlapping_rows_are_refused():
    with pytest.raises(ValueError, match="must all differ"):
        multiply_program("fat", [0, 1], [2], [3, 4, 1], [5, 6], 7, 8)
    with pytest.raises(ValueError, match="product rows"):
        multiply_program("fat", [0, 1], [2], [3, 4], [5, 6], 7, 8)
