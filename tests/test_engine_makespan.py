"""The closed-form length of a stream phase equals the engine's, on random phases of
the bit-serial shape (per bank: a controller step, then a bus step, while the item's
subarray computes) with zero-cycle steps, and says None where it cannot answer."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from imcsim.engine.core import run
from imcsim.engine.makespan import makespan
from imcsim.engine.types import StreamPhase


def bank_phase(items: int, banks: int, cycles: np.ndarray, final: np.ndarray) -> StreamPhase:
    bank = np.arange(items) % banks
    names = [f"ctrl{b}" for b in range(banks)] + [f"bus{b}" for b in range(banks)] + \
        [f"sub{i}" for i in range(items)]
    stream = np.stack([bank, banks + bank], axis=1)
    return StreamPhase("p", 0, names, ("w", "t", "c"), stream, cycles, np.asarray((0, 1)),
                       2 * banks + np.arange(items), final, np.asarray(2))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_closed_form_equals_the_engine(data):
    items = data.draw(st.integers(1, 12))
    banks = data.draw(st.integers(1, 3))
    # controller steps all positive (main phases) or all none (reduction phases)
    ctrl = st.integers(1, 6) if data.draw(st.booleans()) else st.just(0)
    cycles = np.array([[data.draw(ctrl), data.draw(st.integers(0, 6))] for _ in range(items)])
    final = np.array([data.draw(st.integers(1, 30)) for _ in range(items)])
    phase = bank_phase(items, banks, cycles, final)
    assert makespan(phase) == run([phase], phase.names).cycles


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_closed_form_answers_right_or_not_at_all(data):
    """Any mix of skipped steps: where requests come out of queue order, None."""
    items = data.draw(st.integers(1, 8))
    cycles = np.array([[data.draw(st.integers(0, 4)) for _ in range(2)] for _ in range(items)])
    final = np.array([data.draw(st.integers(0, 12)) for _ in range(items)])
    phase = bank_phase(items, 1, cycles, final)
    got = makespan(phase)
    assert got is None or got == run([phase], phase.names).cycles


def test_none_where_a_final_step_has_no_cycles():
    """Such a queue streams from a process started after the others: not queue order."""
    phase = bank_phase(2, 1, np.array([[1, 0], [1, 1]]), np.array([0, 1]))
    assert run([phase], phase.names).cycles == 2  # queue 1 is served first
    assert makespan(phase) is None


def test_none_where_a_final_step_is_shared():
    phase = bank_phase(3, 1, np.ones((3, 2), np.int64), np.array([4, 5, 6]))
    shared = StreamPhase("p", 0, phase.names, phase.kinds, phase.stream_res,
                         phase.stream_cycles, phase.stream_kind, np.array([2, 2, 3]),
                         phase.final_cycles, phase.final_kind)
    assert makespan(shared) is None
