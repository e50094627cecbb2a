"""Cycle rounding, written once: a duration in global clock cycles is rounded up (an
operation cannot end mid-cycle), after taking off `EPSILON` cycles so that float noise
in an exact multiple (e.g. 2.0000000001) does not add a cycle."""

from __future__ import annotations

import math

import numpy as np

EPSILON = 1e-9  # cycles


def ceil_cycles(cycles: float) -> int:
    """A duration of `cycles` (a float) as whole cycles, rounded up."""
    return int(math.ceil(cycles - EPSILON))


def ceil_cycles_array(cycles: np.ndarray) -> np.ndarray:
    """`ceil_cycles` elementwise, as int64."""
    return np.ceil(np.asarray(cycles, dtype=np.float64) - EPSILON).astype(np.int64)


def ns_to_cycles(ns: float, frequency_hz: float) -> int:
    """`ns` nanoseconds in cycles of a `frequency_hz` clock, rounded up."""
    return ceil_cycles(ns * frequency_hz * 1e-9)


def convert_cycles(cycles: float, from_hz: float, to_hz: float) -> int:
    """`cycles` of a `from_hz` clock (an ADC's, a photonic core's) in `to_hz` cycles,
    rounded up."""
    return ceil_cycles(cycles * to_hz / from_hz)
