"""The arch YAML schema: typed sections with their constraints.

Each dataclass field is a YAML key. `metadata` carries the constraints the loader checks:
``min`` (inclusive) or ``gt`` (exclusive lower bound) and ``choices`` for enumerations.
Sections typed ``X | None`` are optional; fields with defaults are optional keys.
The meaning and source of every number lives in the shipped YAML files, not here.
"""

from __future__ import annotations

from dataclasses import dataclass

from imcsim.arch.fields import non_negative, one_of, positive
from imcsim.circuits.photonic_params import PhotonicParams

__all__ = ["Arch", "non_negative", "one_of", "positive"]

TECHNOLOGIES = ("sram", "sot_mram", "reram", "pcm")
SENSE_AMP_KINDS = ("parapim", "fat")
MAPPINGS = ("input_stationary", "combined_stationary")
MAPPING_OBJECTIVES = ("time", "energy", "edp")


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


# Sections a digital (bit-serial subarray) design must have; a photonic design has a
# `photonic` section instead.
DIGITAL_SECTIONS = ("chip", "technology", "sense_amp", "controller", "mapping", "buffer", "bus",
                    "datatypes")


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
    description: str = ""
    source: str = ""  # the file it was read from (filled by the loader)

    @property
    def kind(self) -> str:
        return "photonic" if self.photonic is not None else "digital"

    @property
    def subarrays(self) -> int:
        return self.chip.banks * self.chip.subarrays_per_bank
