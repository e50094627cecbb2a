"""The cell technologies of a crossbar tile, as small objects chosen by the `crossbar.
technology` name: what each needs in the config (and what its circuit file fixes), how a
stored weight slice maps onto cells, how a read is timed and costed, and how the
technology computes a product for accuracy.

    reram     resistive cells, conductance window [G_min, G_max] (ReramParams); with the
              nonlinear ramp ADC (a ReRAM column) the activation is computed in the ADC
    pcm       phase-change cells: programming noise, drift, 1/f read noise (PcmParams);
              the read window defaults to the device model's t_read; RESET ~ 0 S
    aid_sram  6T-SRAM discharge multipliers (AidParams): the circuit file fixes the ADC,
              the word-line DAC, the read window and the accumulator energy

Adding a technology is one class here plus its circuit parameters and tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from imcsim.config.registry import Registry
from imcsim.tech.device_params import PcmParams, ReramParams, check_pcm, check_reram

Fail = Callable[[str, str], None]
Keys = Callable[[tuple[str, ...], str], None]


@dataclass(frozen=True)
class ReadWindow:
    """One read: integration time (ns; 0 when the ADC's ramp sets it), read voltage (V;
    0 when energies come per computation) and the cells' conductance range (uS)."""

    read_ns: float
    v_read_v: float
    g_range_us: tuple[float, float]


class ArrayTechnology:
    """A crossbar cell technology (see the module docstring)."""

    name = ""
    device_params: type | None = None  # the `device` key's parameter class
    takes_nl_adc = False  # the nonlinear ramp ADC is a column of these cells
    # why tiles of this technology cannot take a dynamic operand per inference (None: they
    # can, reprogrammed at the `programming` section's cost; `crossbar.dynamic`)
    no_dynamic_operands: str | None = None

    def check_device(self, device: Any, source: str) -> None:
        """Checks across the device parameters' fields (keys relative to the section)."""

    def check(self, xb: Any, nl: Any, fail: Fail, need: Keys, forbid: Keys) -> None:
        """Which keys this technology needs and refuses (resolved circuit keys given)."""
        forbid(("aid",), f"technology {self.name}")
        need(("adc", "dac_bits", "weight_bits", "input_activity", "dac.energy_pj",
              "periphery.shift_add_energy_pj"), f"technology {self.name}")
        if nl is not None:
            if not self.takes_nl_adc:
                fail("the nonlinear ramp ADC is a ReRAM column; technology must be reram",
                     "nl_adc")
            return
        need(("device", "v_read_v"), f"technology {self.name}")

    # ---- geometry of a stored weight
    def slice_bits(self, xb: Any) -> int:
        return int(xb.bits_per_cell)

    def cells_per_slice(self, xb: Any) -> int:
        return 1

    def dac_bits(self, xb: Any) -> int:
        return int(xb.dac_bits)

    def rows_per_read(self, xb: Any) -> int:
        return int(xb.rows_per_read or xb.rows)

    def weight_bits(self, xb: Any) -> int:
        return int(xb.weight_bits)

    # ---- converters and reads
    def adc_params(self, xb: Any) -> Any:
        return xb.adc

    def read_window(self, xb: Any) -> ReadWindow:
        v = xb.nl_adc.v_read_v if xb.nl_adc is not None else xb.v_read_v
        return ReadWindow(xb.read_ns or 0.0, v,
                          (xb.device.g_min_us, xb.device.g_max_us))

    def dac_energy_pj(self, xb: Any) -> float:
        return float(xb.dac.energy_pj)

    def per_computation_pj(self, xb: Any, adc: Any) -> dict[str, float] | None:
        """Energy per computation by component, for a technology costed that way (AID)."""
        return None

    def shift_add_energy_pj(self, xb: Any, per_computation: dict[str, float] | None) -> float:
        return float(xb.periphery.shift_add_energy_pj)

    # ---- accuracy
    def accuracy_hook(self, xb: Any, rng: np.random.Generator, drift_time_s: float,
                      snr_db: float | None = None) -> tuple[Any, str]:
        """The linear hook computing products as these tiles do (`snr_db`: injected
        analog noise, `functional.noisy.snr_noise`), and a description."""
        raise NotImplementedError


TECHNOLOGIES: Registry[ArrayTechnology] = Registry("crossbar technology")


@TECHNOLOGIES.register
class Reram(ArrayTechnology):
    name = "reram"
    device_params = ReramParams
    takes_nl_adc = True

    def check_device(self, device: Any, source: str) -> None:
        check_reram(device, source, "")

    def check(self, xb: Any, nl: Any, fail: Fail, need: Keys, forbid: Keys) -> None:
        super().check(xb, nl, fail, need, forbid)
        if nl is None:
            need(("read_ns",), "technology reram")

    def accuracy_hook(self, xb: Any, rng: np.random.Generator, drift_time_s: float,
                      snr_db: float | None = None) -> tuple[Any, str]:
        from imcsim.functional.noisy import CrossbarHook

        bits = _adc_bits(xb)
        hook = CrossbarHook(xb.device, rng, 0.0, bits, xb.input_bits, xb.weight_bits, snr_db)
        return hook, (f"ReRAM variation and stuck-at faults, {_precision(xb, bits)}"
                      f"{_snr_text(snr_db)}")


@TECHNOLOGIES.register
class Pcm(ArrayTechnology):
    name = "pcm"
    device_params = PcmParams

    def check_device(self, device: Any, source: str) -> None:
        check_pcm(device, source)

    def read_window(self, xb: Any) -> ReadWindow:
        return ReadWindow(xb.read_ns or xb.device.read_noise.t_read_s * 1e9, xb.v_read_v,
                          (0.0, xb.device.g_max_us))  # RESET ~ 0 in the PCM model

    def accuracy_hook(self, xb: Any, rng: np.random.Generator, drift_time_s: float,
                      snr_db: float | None = None) -> tuple[Any, str]:
        from imcsim.functional.noisy import CrossbarHook
        from imcsim.tech.pcm import Pcm as PcmDevice

        bits = _adc_bits(xb)
        hook = CrossbarHook(PcmDevice(xb.device), rng, drift_time_s, bits, xb.input_bits,
                            xb.weight_bits, snr_db)
        return hook, (f"PCM programming noise, drift to {drift_time_s:g} s, 1/f read noise, "
                      f"{_precision(xb, bits)}{_snr_text(snr_db)}")


@TECHNOLOGIES.register
class AidSram(ArrayTechnology):
    name = "aid_sram"
    no_dynamic_operands = ("the AID circuit model multiplies a stored weight word by a "
                           "row input; it has no model of rewriting the words per inference")

    def check(self, xb: Any, nl: Any, fail: Fail, need: Keys, forbid: Keys) -> None:
        need(("aid",), "the AID circuit file")
        forbid(("adc", "nl_adc", "device", "dac_bits", "read_ns", "v_read_v", "dac.energy_pj",
                "periphery.shift_add_energy_pj", "input_activity"),
               "the AID circuit file sets it")
        if xb.bits_per_cell != 1:
            fail("an AID word stores one bit per 6T cell; must be 1", "bits_per_cell")
        if xb.rows_per_read not in (None, 1):
            fail("the AID circuit converts one product per read; must be 1", "rows_per_read")

    def slice_bits(self, xb: Any) -> int:
        return int(xb.aid.weight_bits)  # a word is a slice

    def cells_per_slice(self, xb: Any) -> int:
        return int(xb.aid.weight_bits)

    def dac_bits(self, xb: Any) -> int:
        return int(xb.aid.dac.bits)

    def rows_per_read(self, xb: Any) -> int:
        return 1

    def weight_bits(self, xb: Any) -> int:
        return int(xb.weight_bits or xb.aid.weight_bits)

    def adc_params(self, xb: Any) -> Any:
        return xb.aid.adc

    def read_window(self, xb: Any) -> ReadWindow:
        aid = xb.aid
        return ReadWindow(aid.array.unit_time_ps * 2 ** (aid.weight_bits - 1) * 1e-3, 0.0,
                          (0.0, 0.0))

    def dac_energy_pj(self, xb: Any) -> float:
        return float(xb.aid.dac.energy_pj)

    def per_computation_pj(self, xb: Any, adc: Any) -> dict[str, float] | None:
        from imcsim.circuits.aid import energy_breakdown_pj

        return energy_breakdown_pj(xb.aid, adc, xb.aid.dac.kind)

    def shift_add_energy_pj(self, xb: Any, per_computation: dict[str, float] | None) -> float:
        assert per_computation is not None
        return per_computation["accumulate"]

    def accuracy_hook(self, xb: Any, rng: np.random.Generator, drift_time_s: float,
                      snr_db: float | None = None) -> tuple[Any, str]:
        from imcsim.functional.noisy import quantize_uniform, snr_noise

        bits = xb.aid.adc.bits

        def aid(call: Any) -> np.ndarray:
            y = call.rows @ call.weights.T
            full = float(np.abs(y).max()) if y.size else 0.0
            if snr_db is not None:  # the analog discharge carries it, before the ADC
                y = y + snr_noise(y, call.inputs, snr_db, rng)
            return quantize_uniform(y, bits, -full, full)

        return aid, f"AID tiles: exact products, {bits}-bit ADC{_snr_text(snr_db)}"


def _precision(xb: Any, adc_bits: int | None) -> str:
    return (f"{xb.weight_bits}-bit weight magnitudes, {xb.input_bits}-bit inputs, "
            f"{adc_bits}-bit ADC")


def _snr_text(snr_db: float | None) -> str:
    return "" if snr_db is None else f", injected noise at {snr_db:g} dB SNR"


def _adc_bits(xb: Any) -> int | None:
    if xb.adc is not None:
        return int(xb.adc.bits)
    return int(xb.nl_adc.bits) if xb.nl_adc is not None else None


def array_technology(name: str) -> ArrayTechnology:
    """The technology called `name` (ValueError naming the known ones otherwise)."""
    return TECHNOLOGIES.named(name)
