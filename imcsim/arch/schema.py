"""The arch YAML schema: typed sections with their constraints.

Each dataclass field is a YAML key. `metadata` carries the constraints the loader checks:
``min`` (inclusive) or ``gt`` (exclusive lower bound) and ``choices`` for enumerations.
Sections typed ``X | None`` are optional; fields with defaults are optional keys.
The meaning and source of every number lives in the shipped YAML files, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imcsim.arch.fields import non_negative, one_of, positive
from imcsim.circuits.adder_styles import ADDER_STYLES
from imcsim.circuits.photonic_params import PhotonicParams

__all__ = ["Arch", "non_negative", "one_of", "positive"]

TECHNOLOGIES = ("sram", "sot_mram", "reram", "pcm")
SENSE_AMP_KINDS = tuple(ADDER_STYLES)  # "parapim", "fat"
MAPPINGS = ("input_stationary", "combined_stationary")
MAPPING_OBJECTIVES = ("time", "energy", "edp")
ARRAY_TECHNOLOGIES = ("reram", "pcm", "aid_sram")
PLACEMENTS = ("auto", "resident", "reload")  # auto: resident if the network fits


@dataclass(frozen=True, kw_only=True)
class Clock:
    frequency_hz: float = positive()


@dataclass(frozen=True, kw_only=True)
class Chip:
    banks: int = positive()
    subarrays_per_bank: int = positive()
    rows: int = positive()
    columns: int = positive()


@dataclass(frozen=True, kw_only=True)
class Technology:
    """Cell array primitives, per column (one cell / one bit line)."""

    kind: str = one_of(TECHNOLOGIES)
    activate_ns: float = positive()  # open word lines, develop bit lines
    write_ns: float = positive()  # write one row
    open_energy_pj_per_cell: float = non_negative()  # per opened cell per activation
    write_energy_pj_per_bit: float = non_negative()
    cell_area_um2: float = positive()
    array_periphery_area_factor: float = non_negative(default=0.0)  # decoders, drivers
    leakage_w_per_subarray: float = non_negative(default=0.0)


@dataclass(frozen=True, kw_only=True)
class SenseAmp:
    """The per-column sense amplifier that evaluates bit-serial addition."""

    kind: str = one_of(SENSE_AMP_KINDS)
    sense_ns: float = positive()
    latch_ns: float = non_negative(default=0.0)
    sense_energy_pj: float = non_negative()
    latch_energy_pj: float = non_negative(default=0.0)
    area_um2: float = positive()
    leakage_w_per_column: float = non_negative(default=0.0)


@dataclass(frozen=True, kw_only=True)
class Controller:
    """One controller per bank: fetches weights, issues add / subtract / skip."""

    sparse_addition_control: bool
    # with sparse control: load only the activations some channel of the round adds
    skip_unused_activations: bool = False
    weights_per_cycle: float = positive()
    energy_pj_per_weight: float = non_negative()
    area_mm2: float = non_negative()
    leakage_w: float = non_negative(default=0.0)


@dataclass(frozen=True, kw_only=True)
class Mapping:
    kind: str = one_of(MAPPINGS)
    max_input_splits: int = positive(default=64)  # search bound of combined-stationary
    broadcast_activations: bool = False  # one bank-bus transfer feeds every subarray sharing it
    balance_channels: bool = False  # group channels by their nonzero counts (sparse designs)
    # with balance_channels: an item may end inside a channel (its partial sums reduced)
    cut_channels: bool = False
    objective: str = one_of(MAPPING_OBJECTIVES, default="edp")  # what the tiling search minimises


@dataclass(frozen=True, kw_only=True)
class Buffer:
    """The global on-chip buffer holding activations, partial sums and weights."""

    size_kib: float = positive()
    read_energy_pj_per_bit: float = non_negative()
    write_energy_pj_per_bit: float = non_negative()
    area_mm2: float = non_negative()
    leakage_w: float = non_negative(default=0.0)


@dataclass(frozen=True, kw_only=True)
class Bus:
    """One bus per bank between the buffer and the bank's subarrays."""

    bits_per_cycle: float = positive()
    energy_pj_per_bit: float = non_negative()


@dataclass(frozen=True, kw_only=True)
class DataTypes:
    activation_bits: int = positive()
    accumulator_bits: int = positive()
    weight_bits: int = positive(default=2)


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


@dataclass(frozen=True, kw_only=True)
class Crossbar:
    """An analog in-memory accelerator: `tiles` crossbars of rows x cols cells.

    The circuit keys (`adc`, `nl_adc`, `device`, `aid`) take an inline mapping or a
    ``"file.yaml"`` / ``"file.yaml#section"`` path relative to the arch file; the loader
    replaces them by the typed circuit parameters (`imcsim.circuits.analog_params`:
    AdcParams, NlAdcParams, ReramParams or PcmParams, AidParams). Which keys a technology
    needs, and which its circuit file fixes, is checked by the loader.
    """

    technology: str = one_of(ARRAY_TECHNOLOGIES)
    tiles: int = positive()
    rows: int = positive()
    cols: int = positive()
    weight_bits: int | None = positive(default=None)  # magnitude bits of a stored weight
    # (sign: pair or sign cell); aid_sram: None = one word of the circuit
    bits_per_cell: int = positive(default=1)  # reram/pcm slice width; aid_sram: 1 (a word is a slice)
    differential: bool = True  # G+/G- columns; False: sign-magnitude, sign applied digitally
    pair_subtraction: bool = True  # a pair's currents subtracted before the ADC: one conversion
    input_bits: int = positive()
    dac_bits: int | None = positive(default=None)  # aid_sram: the circuit's dac.bits
    rows_per_read: int | None = positive(default=None)  # rows summed per read; None: all (aid: 1)
    read_ns: float | None = positive(default=None)  # integration time t_read of one read
    v_read_v: float | None = positive(default=None)  # read voltage (NL-ADC: the circuit's)
    input_activity: float | None = non_negative(default=None)  # mean (V_row/V_read)^2, <= 1
    cols_per_adc: int = positive()  # physical columns sharing one ADC through the mux
    sample_and_hold: bool = True  # conversions of one read overlap the next read
    accumulator_bits: int = positive()  # partial sums sent between tiles
    cell_area_um2: float = positive()
    replicate: bool = True  # spare tiles hold weight copies that split the output pixels
    placement: str = one_of(PLACEMENTS, default="auto")  # resident layers or reload per layer
    adc: Any = None  # AdcParams
    nl_adc: Any = None  # NlAdcParams (reram only): the in-memory nonlinear ramp ADC
    device: Any = None  # ReramParams (reram) or PcmParams (pcm)
    aid: Any = None  # AidParams (aid_sram)
    dac: RowDac
    periphery: Periphery
    programming: Programming


# Sections a digital (bit-serial subarray) design must have; a photonic design has a
# `photonic` section instead, an analog one `crossbar` (with `buffer` and `bus`).
DIGITAL_SECTIONS = ("chip", "technology", "sense_amp", "controller", "mapping", "buffer", "bus",
                    "datatypes")
ANALOG_SECTIONS = ("crossbar", "buffer", "bus")


@dataclass(frozen=True, kw_only=True)
class Arch:
    name: str
    clock: Clock
    chip: Chip | None = None
    technology: Technology | None = None
    sense_amp: SenseAmp | None = None
    controller: Controller | None = None
    mapping: Mapping | None = None
    buffer: Buffer | None = None
    bus: Bus | None = None
    datatypes: DataTypes | None = None
    photonic: PhotonicParams | None = None
    crossbar: Crossbar | None = None
    description: str = ""
    source: str = ""  # the file it was read from (filled by the loader)

    @property
    def kind(self) -> str:
        if self.photonic is not None:
            return "photonic"
        return "analog" if self.crossbar is not None else "digital"

    @property
    def subarrays(self) -> int:
        """Parallel compute units: subarrays, or crossbar tiles, or photonic cores."""
        if self.crossbar is not None:
            return self.crossbar.tiles
        if self.photonic is not None:
            return self.photonic.core.cores
        return self.chip.banks * self.chip.subarrays_per_bank
