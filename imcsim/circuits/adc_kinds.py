"""ADC architectures (SAR, flash, ramp): what each kind decides about an ADC, chosen by name.

An `AdcKind` holds no instance state: given the resolution it states the conversion
time, the events that cost energy, the parts that cost area, how many comparators carry
a static offset, how mismatched unit elements place the transitions and how a voltage is
compared against transition thresholds. `imcsim.circuits.adc.Adc` keeps the per-instance
state (drawn non-idealities) and asks its kind. Kinds are registered in `ADC_KINDS` by
name (the YAML's ``kind``); a new kind is one registered subclass here plus its tests.
This module imports neither `adc` nor `analog_params` (both import it).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from imcsim.config.registry import Registry

__all__ = ["ADC_KINDS", "AdcKind", "FlashAdc", "RampAdc", "SarAdc", "adc_kind"]


class AdcKind:
    """One ADC architecture; `bits` is the resolution N (2^N codes) in every method."""

    name: ClassVar[str]
    description: ClassVar[str]  # one line
    #: Converts by a binary search over (mismatched) capacitor weights rather than by
    #: comparing with transition thresholds (unless a measured INL/DNL table is given).
    sar_search: ClassVar[bool] = False

    def cycles(self, bits: int) -> int:
        """Conversion time in the ADC's own clock cycles."""
        raise NotImplementedError

    def decisions_steps(self, bits: int) -> tuple[int, int]:
        """Energy events per conversion: (comparator decisions, clock steps)."""
        raise NotImplementedError

    def comparators(self, bits: int) -> int:
        """Comparators, each with its own static offset."""
        return 1

    def elements(self, bits: int) -> int:
        """Unit elements counted for area (caps, ladder resistors, counter bits)."""
        raise NotImplementedError

    def comparators_elements(self, bits: int) -> tuple[int, int]:
        """Area parts: (comparators, elements)."""
        return self.comparators(bits), self.elements(bits)

    def draw_offsets(self, rng: np.random.Generator, sigma_v: float,
                     bits: int) -> float | np.ndarray:
        """Static comparator offsets (V), one draw per comparator; a single one as a float."""
        return float(rng.normal(0.0, sigma_v, self.comparators(bits))[0])

    def unit_transitions(self, cum_units: np.ndarray, bits: int) -> np.ndarray:
        """Transitions T_1 .. T_{2^N - 1} in LSB from cumulative sums of 2^N mismatched
        units (the first one half-size): one unit step per code."""
        return cum_units[:-1]

    def convert_thresholds(self, v: np.ndarray, thresholds_v: np.ndarray) -> np.ndarray:
        """Codes of voltages `v` against transitions (offsets included): the first
        crossing, i.e. the count of the running maximum of the thresholds below v."""
        t = np.maximum.accumulate(thresholds_v)
        return np.searchsorted(t, v, side="left").astype(np.int64)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


#: The registered kinds by name, in the order the YAML sections list them.
ADC_KINDS: Registry[AdcKind] = Registry("ADC kind")


@ADC_KINDS.register
class SarAdc(AdcKind):
    """Successive approximation: one comparator, a binary-weighted cap DAC, one bit a cycle."""

    name = "sar"
    description = "successive approximation: N cycles, one comparator, 2^N unit caps"
    sar_search = True

    def cycles(self, bits: int) -> int:
        return bits

    def decisions_steps(self, bits: int) -> tuple[int, int]:
        return bits, bits

    def elements(self, bits: int) -> int:
        return 2 ** bits


@ADC_KINDS.register
class FlashAdc(AdcKind):
    """Flash: one comparator per transition on a resistor ladder, one cycle."""

    name = "flash"
    description = "flash: 1 cycle, 2^N - 1 comparators on a 2^N-resistor ladder"

    def cycles(self, bits: int) -> int:
        return 1

    def decisions_steps(self, bits: int) -> tuple[int, int]:
        return 2 ** bits - 1, 1

    def comparators(self, bits: int) -> int:
        return 2 ** bits - 1

    def elements(self, bits: int) -> int:
        return 2 ** bits

    def draw_offsets(self, rng: np.random.Generator, sigma_v: float,
                     bits: int) -> float | np.ndarray:
        """One static offset per threshold comparator (an array)."""
        return rng.normal(0.0, sigma_v, self.comparators(bits))

    def unit_transitions(self, cum_units: np.ndarray, bits: int) -> np.ndarray:
        """Ladder taps: tap k after k - 1/2 resistors, the ladder spanning the reference."""
        cum = cum_units * (2 ** bits - 0.5) / cum_units[-1]
        return cum[:-1]

    def convert_thresholds(self, v: np.ndarray, thresholds_v: np.ndarray,
                           chunk: int = 1 << 16) -> np.ndarray:
        """Number of comparators whose threshold the input exceeds (ones count)."""
        flat = v.ravel()
        out = np.empty(flat.shape, dtype=np.int64)
        for s in range(0, flat.size, chunk):
            out[s:s + chunk] = (flat[s:s + chunk, None] > thresholds_v[None, :]).sum(axis=1)
        return out.reshape(v.shape)


@ADC_KINDS.register
class RampAdc(AdcKind):
    """Ramp (single slope): a counter steps a shared ramp until the comparator flips."""

    name = "ramp"
    description = "single-slope ramp: 2^N cycles, one comparator, an N-bit counter"

    def cycles(self, bits: int) -> int:
        return 2 ** bits

    def decisions_steps(self, bits: int) -> tuple[int, int]:
        return 2 ** bits, 2 ** bits

    def elements(self, bits: int) -> int:
        return bits  # counter bits; the ramp generator is shared and not counted


def adc_kind(kind: str | AdcKind) -> AdcKind:
    """The registered kind of that name (an `AdcKind` is returned as is)."""
    return kind if isinstance(kind, AdcKind) else ADC_KINDS.named(kind)
