"""The arch schema of an analog crossbar design (ReRAM, PCM or AID 6T-SRAM tiles), and
the checks across its keys (which circuit files a technology needs, which it fixes).

The circuit keys (`adc`, `nl_adc`, `device`, `aid`) take an inline mapping or a
``"file.yaml"`` / ``"file.yaml#section"`` path relative to the arch file (read by the
config machinery; the device's type follows the technology, so `check_crossbar` reads
it), and `check_crossbar` checks what each technology needs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from imcsim.circuits import analog_params as ap
from imcsim.circuits.analog_params import AdcParams, AidParams, NlAdcParams
from imcsim.config.fields import inline_or_file, non_negative, one_of, positive, resolved_by_kind
from imcsim.config.sections import build_referenced
from imcsim.designs.base import ArchBase, Buffer, Bus
from imcsim.designs.crossbar.technologies import TECHNOLOGIES, array_technology
from imcsim.errors import ConfigError

ARRAY_TECHNOLOGIES = tuple(TECHNOLOGIES)  # "reram", "pcm", "aid_sram"
PLACEMENTS = ("auto", "resident", "reload")  # auto: resident if the network fits


@dataclass(frozen=True, kw_only=True)
class RowDac:
    """The row drivers of a crossbar tile: one DAC per row."""

    energy_pj: float | None = non_negative(default=None)  # per conversion; aid_sram: circuit's
    area_um2: float = non_negative()


@dataclass(frozen=True, kw_only=True)
class Periphery:
    """Digital periphery of one tile: sample-and-hold, column mux, shift-and-add, activation."""

    shift_add_energy_pj: float | None = non_negative(default=None)  # per ADC result; aid: circuit's
    activation_energy_pj: float = non_negative()  # per output value (ReLU + requantisation)
    area_um2_per_tile: float = non_negative()
    leakage_w_per_tile: float = non_negative(default=0.0)


@dataclass(frozen=True, kw_only=True)
class Programming:
    """Writing weights into a tile: rows one after another, all tiles in parallel."""

    row_write_ns: float = positive()  # one row, write-verify included
    energy_pj_per_cell: float = non_negative()
    # writes a cell survives (None: not stated); reported when attention's dynamic
    # operands are programmed into the tiles every inference (placement `arrays`)
    endurance_writes: float | None = positive(default=None, at_most=1e30)


@dataclass(frozen=True, kw_only=True)
class Crossbar:
    """An analog in-memory accelerator: `tiles` crossbars of rows x cols cells.

    The circuit keys (`adc`, `nl_adc`, `device`, `aid`) take an inline mapping or a
    ``"file.yaml"`` / ``"file.yaml#section"`` path relative to the arch file, typed as the
    circuit parameters of `imcsim.circuits.analog_params` and `imcsim.tech.device_params`.
    Which keys a technology needs, and which its circuit file fixes, is checked by
    `check_crossbar` with the technology (`designs.crossbar.technologies`).
    """

    technology: str = one_of(ARRAY_TECHNOLOGIES)
    tiles: int = positive(at_most=2 ** 20)
    rows: int = positive(at_most=65536)
    cols: int = positive(at_most=65536)
    weight_bits: int | None = positive(default=None, at_most=32)  # magnitude bits of a stored weight
    # (sign: pair or sign cell); aid_sram: None = one word of the circuit
    bits_per_cell: int = positive(default=1, at_most=16)  # reram/pcm slice width; aid_sram: 1 (a word is a slice)
    differential: bool = True  # G+/G- columns; False: sign-magnitude, sign applied digitally
    pair_subtraction: bool = True  # a pair's currents subtracted before the ADC: one conversion
    input_bits: int = positive(at_most=32)
    dac_bits: int | None = positive(default=None, at_most=32)  # aid_sram: the circuit's dac.bits
    rows_per_read: int | None = positive(default=None)  # rows summed per read; None: all (aid: 1)
    read_ns: float | None = positive(default=None)  # integration time t_read of one read
    v_read_v: float | None = positive(default=None)  # read voltage (NL-ADC: the circuit's)
    input_activity: float | None = non_negative(default=None)  # mean (V_row/V_read)^2, <= 1
    cols_per_adc: int = positive(at_most=65536)  # physical columns sharing one ADC through the mux
    sample_and_hold: bool = True  # conversions of one read overlap the next read
    accumulator_bits: int = positive(at_most=64)  # partial sums sent between tiles
    cell_area_um2: float = positive()
    replicate: bool = True  # spare tiles hold weight copies that split the output pixels
    placement: str = one_of(PLACEMENTS, default="auto")  # resident layers or reload per layer
    adc: AdcParams | None = inline_or_file(check=ap.check_adc, default=None)
    # reram only: the in-memory nonlinear ramp ADC
    nl_adc: NlAdcParams | None = inline_or_file(check=ap.check_nl_adc, default=None)
    # ReramParams (reram) or PcmParams (pcm), inline or a file: resolved by the technology
    device: Any = resolved_by_kind(default=None)
    aid: AidParams | None = inline_or_file(check=ap.check_aid, default=None)  # aid_sram
    dac: RowDac
    periphery: Periphery
    programming: Programming


@dataclass(frozen=True, kw_only=True)
class CrossbarArch(ArchBase):
    """An analog in-memory design: crossbar tiles, a global buffer and a bus."""

    crossbar: Crossbar
    buffer: Buffer
    bus: Bus


def check_crossbar(xb: Any, source: str) -> Any:
    """Resolve the circuit keys of a `crossbar` section and check what each technology needs.

    reram: `adc`, `device` (ReramParams), `read_ns`, `v_read_v`, `dac_bits`, `dac.energy_pj`,
      `periphery.shift_add_energy_pj`; with `nl_adc` the ramp ADC computes the activation:
      then the device and V_read come from the NL-ADC file, the rows stay driven through
      the ramp (no `read_ns`, no sample-and-hold) and `adc` must be a ramp of the same bits.
    pcm: as reram without `nl_adc`; `read_ns` defaults to the device model's t_read.
    aid_sram: `aid` (AidParams) fixes the ADC, the word-line DAC (bits, energy), the read
      window and the accumulator energy, so those keys must not be repeated here.
    """
    tech = array_technology(xb.technology)

    def fail(message: str, key: str) -> None:
        raise ConfigError(message, source=source, key=f"crossbar.{key}")

    def given(key: str) -> bool:
        node: Any = xb
        for part in key.split("."):
            node = getattr(node, part)
        return node is not None

    def forbid(keys: tuple[str, ...], why: str) -> None:
        for key in keys:
            if given(key):
                fail(f"not used here ({why}); remove it", key)

    def need(keys: tuple[str, ...], why: str) -> None:
        for key in keys:
            if not given(key):
                fail(f"missing required key ({why})", key)

    adc, nl, aid = xb.adc, xb.nl_adc, xb.aid
    device = xb.device
    if tech.device_params is not None and device is not None:
        device = build_referenced(tech.device_params, device, source, "crossbar.device",
                                  tech.check_device)
    tech.check(xb, nl, fail, need, forbid)
    if nl is not None:
        forbid(("device", "v_read_v", "read_ns"), "the NL-ADC file sets the ReRAM device "
               "and V_read, and the rows stay driven through the ramp")
        device = nl.device
        if adc.kind != "ramp" or adc.bits != nl.bits:
            fail(f"the NL-ADC is a {nl.bits}-bit ramp; adc must be kind ramp with "
                 f"{nl.bits} bits, got {adc.kind} with {adc.bits}", "adc")
        if xb.sample_and_hold:
            fail("the NL-ADC compares the live column current with the ramp; must be "
                 "false", "sample_and_hold")
    rows_per_read = tech.rows_per_read(xb)
    if rows_per_read > xb.rows:
        fail(f"must be <= rows ({xb.rows})", "rows_per_read")
    if not xb.differential and rows_per_read > 1:
        fail("sign-magnitude weights need one product per conversion (rows_per_read 1); "
             "summed rows need differential pairs", "differential")
    if xb.cols_per_adc > xb.cols:
        fail(f"must be <= cols ({xb.cols})", "cols_per_adc")
    if xb.input_activity is not None and xb.input_activity > 1:
        fail(f"must be <= 1, got {xb.input_activity}", "input_activity")
    resolved = dataclasses.replace(xb, adc=adc, nl_adc=nl, device=device, aid=aid)
    return dataclasses.replace(resolved, weight_bits=tech.weight_bits(resolved))
