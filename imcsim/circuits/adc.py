"""SAR, flash and ramp ADC models: time, energy, area, non-idealities, vectorised conversion.

Ideal transfer (IEEE 1241 mid-tread): LSB = V_fs / 2^N, transition k (code k-1 -> k) at
T_k = (k - 1/2) LSB for k = 1 .. 2^N - 1, codes clipped to [0, 2^N - 1].

Conversion time in ADC clock cycles: ramp 2^N (one counter step per level), SAR N (one
bit per cycle), flash 1; in global cycles ceil(cycles_adc * f_global / f_adc).
Energy per conversion: from a figure of merit when the YAML gives one (`fom`; Walden
F_W * 2^ENOB or Schreier, `imcsim.circuits.converter_fom`, ENOB = `enob` or N), else
decisions * E_comparator + steps * E_step + E_static, with (decisions, steps) = SAR
(N, N), flash (2^N - 1, 1), ramp (2^N, 2^N).
Area = comparators * A_comparator + elements * A_element + A_logic, with
(comparators, elements) = SAR (1, 2^N unit caps), flash (2^N - 1, 2^N ladder resistors),
ramp (1, N counter bits; the ramp generator is shared by the columns and not counted).

Non-idealities (parameters in the YAML, static ones drawn once per ADC instance):
- finite buffer gain A: the input is scaled by A / (1 + A) (closed-loop gain error);
- comparator offset sigma_os: one static offset per comparator (flash: one per threshold);
- unit-element mismatch sigma_u: SAR capacitor C_k = sum of 2^k unit caps, each with relative
  error sigma_u, the SAR searches with the mismatched binary weights (missing codes,
  non-monotonicity); flash ladder resistors / ramp steps each with relative error sigma_u;
- a measured INL table moves the transitions, T_k = (k - 1/2 + INL_k) LSB, or a DNL table
  sets code widths, T_{k+1} - T_k = (1 + DNL_k) LSB (then the structural model is off);
- dynamic input-referred noise sigma_n, drawn per conversion.
`ramp_test` measures INL/DNL by the code-transition method on a fine input ramp.
What differs between the kinds lives in `imcsim.circuits.adc_kinds` (chosen by name).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imcsim.circuits.adc_kinds import AdcKind, adc_kind
from imcsim.circuits.analog_params import AdcParams
from imcsim.circuits.converter_fom import conversion_energy_pj
from imcsim.errors import ConfigError
from imcsim.units import convert_cycles


def adc_cycles(kind: str | AdcKind, bits: int) -> int:
    """Conversion time in the ADC's own clock cycles."""
    return adc_kind(kind).cycles(bits)


class Adc:
    """One ADC instance: static non-idealities drawn from `rng` at construction."""

    def __init__(self, params: AdcParams, rng: np.random.Generator | None = None,
                 full_scale_v: float | None = None):
        self.p = params
        self.kind = adc_kind(params.kind)
        self.bits = params.bits
        self.levels = 2 ** params.bits
        fs = full_scale_v if full_scale_v is not None else params.full_scale_v
        if fs is None or not fs > 0:
            raise ConfigError("an ADC needs a positive full scale", key="full_scale_v")
        self.full_scale_v = float(fs)
        self.lsb_v = self.full_scale_v / self.levels
        needs_rng = params.comparator_offset_sigma_v > 0 or params.unit_mismatch > 0
        if needs_rng and rng is None:
            raise ValueError("an ADC with offset or mismatch needs a seeded rng")
        self.gain = 1.0 if params.gain is None else params.gain / (1.0 + params.gain)
        self._sar_weights: np.ndarray | None = None
        self.offset_v: float | np.ndarray = 0.0
        if params.comparator_offset_sigma_v > 0:
            assert rng is not None  # checked above (needs_rng)
            self.offset_v = self.kind.draw_offsets(rng, params.comparator_offset_sigma_v,
                                                   self.bits)
        table = params.inl_lsb is not None or params.dnl_lsb is not None
        self.thresholds_v: np.ndarray | None
        if self.kind.sar_search and not table:
            self._sar_weights = self._draw_sar_weights(rng)
            self.thresholds_v = None
        else:
            self.thresholds_v = self._thresholds(rng)

    # ---- static structure
    def _draw_sar_weights(self, rng: np.random.Generator | None) -> np.ndarray:
        """Binary cap weights in LSB, normalised so the array (with its dummy) spans 2^N."""
        nominal = 2.0 ** np.arange(self.bits)
        caps = nominal.copy()
        if self.p.unit_mismatch > 0:
            assert rng is not None  # __init__ requires an rng when unit_mismatch > 0
            caps = nominal + rng.normal(0.0, 1.0, self.bits) * self.p.unit_mismatch * np.sqrt(nominal)
            dummy = 1.0 + rng.normal(0.0, self.p.unit_mismatch)
        else:
            dummy = 1.0
        return caps * self.levels / (caps.sum() + dummy)

    def _thresholds(self, rng: np.random.Generator | None) -> np.ndarray:
        """Transition voltages T_1 .. T_{2^N - 1} (before comparator offsets)."""
        k = np.arange(1, self.levels, dtype=float)
        if self.p.inl_lsb is not None:
            t = k - 0.5 + np.asarray(self.p.inl_lsb, dtype=float)
        elif self.p.dnl_lsb is not None:
            widths = 1.0 + np.asarray(self.p.dnl_lsb, dtype=float)
            t = 0.5 + np.concatenate(([0.0], np.cumsum(widths)))
        elif self.p.unit_mismatch > 0:
            # flash: 2^N ladder resistors, tap k after k - 1/2 of them (half-size end
            # resistors); ramp: 2^N - 1 steps of one unit; both sums of mismatched units.
            assert rng is not None  # __init__ requires an rng when unit_mismatch > 0
            units = 1.0 + rng.normal(0.0, self.p.unit_mismatch, self.levels)
            units[0] *= 0.5
            t = self.kind.unit_transitions(np.cumsum(units), self.bits)
        else:
            t = k - 0.5
        return t * self.lsb_v

    # ---- costs
    @property
    def cycles(self) -> int:
        return self.kind.cycles(self.bits)

    def global_cycles(self, global_clock_hz: float) -> int:
        """A conversion in global cycles, rounded up (it cannot end mid-cycle)."""
        return convert_cycles(self.cycles, self.p.clock_hz, global_clock_hz)

    @property
    def enob(self) -> float:
        """Effective bits the energy is stated at (the nominal resolution unless given)."""
        return float(self.p.enob if self.p.enob is not None else self.bits)

    @property
    def energy_pj(self) -> float:
        p = self.p
        if p.fom is not None:
            return conversion_energy_pj(p.fom, self.enob)
        decisions, steps = self.kind.decisions_steps(self.bits)
        if p.comparator_energy_pj is None or p.step_energy_pj is None:
            raise ConfigError("an ADC needs a figure of merit (fom) or its component "
                              "energies", key="fom")
        return (decisions * p.comparator_energy_pj + steps * p.step_energy_pj
                + (p.static_energy_pj or 0.0))

    @property
    def area_um2(self) -> float:
        comps, elems = self.kind.comparators_elements(self.bits)
        return comps * self.p.comparator_area_um2 + elems * self.p.element_area_um2 \
            + self.p.logic_area_um2

    # ---- conversion
    def convert(self, values, rng: np.random.Generator | None = None, *,
                noise: bool = True) -> np.ndarray:
        """Voltages (any shape) -> integer codes in [0, 2^N - 1]."""
        v = np.asarray(values, dtype=float) * self.gain
        if noise and self.p.noise_sigma_v > 0:
            if rng is None:
                raise ValueError("an ADC with noise needs a seeded rng")
            v = v + rng.normal(0.0, self.p.noise_sigma_v, v.shape)
        if self._sar_weights is not None:
            return self._sar(v - self.offset_v)
        assert self.thresholds_v is not None  # set whenever there are no SAR weights
        return self.kind.convert_thresholds(v, self.thresholds_v + self.offset_v)

    def _sar(self, v: np.ndarray) -> np.ndarray:
        """Binary search MSB first with the (mismatched) cap weights; half-LSB shifted DAC."""
        weights = self._sar_weights
        assert weights is not None  # only called when there are SAR weights
        u = v / self.lsb_v + 0.5
        code = np.zeros(u.shape, dtype=np.int64)
        dac = np.zeros(u.shape)
        for bit in range(self.bits - 1, -1, -1):
            trial = dac + weights[bit]
            keep = u > trial
            dac = np.where(keep, trial, dac)
            code |= keep.astype(np.int64) << bit
        return code


@dataclass(frozen=True)
class Linearity:
    """Static linearity from a ramp test, in LSB (index k = transition / code number)."""

    inl_lsb: np.ndarray  # per transition k = 1 .. 2^N - 1
    dnl_lsb: np.ndarray  # per inner code k = 1 .. 2^N - 2
    missing_codes: int

    @property
    def max_inl(self) -> float:
        return float(np.max(np.abs(self.inl_lsb)))

    @property
    def max_dnl(self) -> float:
        return float(np.max(np.abs(self.dnl_lsb)))


def ramp_test(adc: Adc, points_per_lsb: int = 64) -> Linearity:
    """Slow-ramp (code-transition) test without dynamic noise.

    Input steps of LSB/points_per_lsb from -1 LSB to 2^N + 1 LSB; code widths W_k from the
    hit counts; transitions T_k = v_start + sum_{i<k} W_i (exact for a monotone ADC, the
    histogram estimate otherwise). DNL_k = W_k / LSB - 1, INL_k = T_k / LSB - (k - 1/2).
    """
    step = adc.lsb_v / points_per_lsb
    n = (adc.levels + 2) * points_per_lsb
    v = (np.arange(n) + 0.5) * step - adc.lsb_v
    codes = adc.convert(v, noise=False)
    hits = np.bincount(codes, minlength=adc.levels).astype(float)
    widths = hits * step
    trans = v[0] - 0.5 * step + np.cumsum(widths)[:-1]
    k = np.arange(1, adc.levels)
    inl = trans / adc.lsb_v - (k - 0.5)
    dnl = widths[1:-1] / adc.lsb_v - 1.0
    return Linearity(inl_lsb=inl, dnl_lsb=dnl, missing_codes=int((hits[1:-1] == 0).sum()))
