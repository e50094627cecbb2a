"""The arch schema of a digital bit-serial design: typed sections with their constraints.

Each dataclass field is a YAML key (`imcsim.config.fields`: ``min``, ``gt``, ``choices``).
The meaning and source of every number lives in the shipped YAML files, not here.
"""

from __future__ import annotations

from dataclasses import dataclass

from imcsim.circuits.adder_styles import ADDER_STYLES
from imcsim.config.fields import non_negative, one_of, positive
from imcsim.designs.base import ArchBase, Buffer, Bus

TECHNOLOGIES = ("sram", "sot_mram", "reram", "pcm")
SENSE_AMP_KINDS = tuple(ADDER_STYLES)  # "parapim", "fat"
MAPPINGS = ("input_stationary", "combined_stationary")
MAPPING_OBJECTIVES = ("time", "energy", "edp")


@dataclass(frozen=True, kw_only=True)
class Chip:
    banks: int = positive(at_most=4096)
    subarrays_per_bank: int = positive(at_most=4096)
    rows: int = positive(at_most=65536)
    columns: int = positive(at_most=65536)


@dataclass(frozen=True, kw_only=True)
class Technology:
    """Cell array primitives, per column (one cell / one bit line)."""

    kind: str = one_of(TECHNOLOGIES)
    activate_ns: float = positive()  # open word lines, develop bit lines
    write_ns: float = positive()  # write one row
    open_energy_pj_per_cell: float = non_negative()  # per opened cell per activation
    write_energy_pj_per_bit: float = non_negative()
    # writing external data (activation bits, partial sums) into a row; default: as any
    # write. Its own key so that an accounting without activation loading is an override
    load_write_energy_pj_per_bit: float | None = non_negative(default=None)
    cell_area_um2: float = positive()
    array_periphery_area_factor: float = non_negative(default=0.0)  # decoders, drivers
    leakage_w_per_subarray: float = non_negative(default=0.0)
    # writes a cell survives, where the technology limits them (None: not a limit, e.g.
    # SRAM); reported for dynamic operands written into the arrays (attention)
    endurance_writes: float | None = positive(default=None, at_most=1e30)


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
    weights_per_cycle: int = positive(at_most=2 ** 20)
    energy_pj_per_weight: float = non_negative()
    area_mm2: float = non_negative()
    leakage_w: float = non_negative(default=0.0)


@dataclass(frozen=True, kw_only=True)
class Mapping:
    kind: str = one_of(MAPPINGS)
    max_input_splits: int = positive(default=64, at_most=4096)  # search bound of combined-stationary
    broadcast_activations: bool = False  # one bank-bus transfer feeds every subarray sharing it
    balance_channels: bool = False  # group channels by their nonzero counts (sparse designs)
    # with balance_channels: an item may end inside a channel (its partial sums reduced)
    cut_channels: bool = False
    objective: str = one_of(MAPPING_OBJECTIVES, default="edp")  # what the tiling search minimises
    # the search may put several output channels side by side in a subarray's columns
    # (the gather layout, mapping/gather.py) as well as one pixel per column
    gather_channels: bool = True
    # candidates (best by the closed-form estimate) the search then costs exactly and
    # times on the engine, keeping the best by the objective
    exact_candidates: int = positive(default=3, at_most=4096)


@dataclass(frozen=True, kw_only=True)
class DataTypes:
    activation_bits: int = positive(at_most=32)
    accumulator_bits: int = positive(at_most=64)
    weight_bits: int = positive(default=2, at_most=32)


@dataclass(frozen=True, kw_only=True)
class BitSerialArch(ArchBase):
    """A digital bit-serial design: banks of subarrays whose sense amplifiers add."""

    chip: Chip
    technology: Technology
    sense_amp: SenseAmp
    controller: Controller
    mapping: Mapping
    buffer: Buffer
    bus: Bus
    datatypes: DataTypes

    @property
    def subarrays(self) -> int:
        return self.chip.banks * self.chip.subarrays_per_bank
