"""What every arch YAML has (`kind`, `name`, `clock`, `description`), and the sections
several design kinds share (`buffer`, `bus`). Each kind's schema extends `ArchBase`."""

from __future__ import annotations

from dataclasses import dataclass, field

from imcsim.config.fields import non_negative, positive
from imcsim.periphery.schema import Placement, VectorUnit


@dataclass(frozen=True, kw_only=True)
class Clock:
    frequency_hz: float = positive(at_least=1e3, at_most=1e12)  # 1 kHz .. 1 THz


@dataclass(frozen=True, kw_only=True)
class Buffer:
    """The global on-chip buffer holding activations, partial sums and weights."""

    size_kib: int = positive(at_most=2 ** 24)  # up to 16 GiB
    read_energy_pj_per_bit: float = non_negative()
    write_energy_pj_per_bit: float = non_negative()
    area_mm2: float = non_negative()
    leakage_w: float = non_negative(default=0.0)


@dataclass(frozen=True, kw_only=True)
class Bus:
    """The bus between the buffer and the compute units (bit-serial: one per bank)."""

    bits_per_cycle: int = positive(at_most=2 ** 20)
    energy_pj_per_bit: float = non_negative()


@dataclass(frozen=True, kw_only=True)
class Pipeline:
    """Layers as stages overlapping across consecutive inputs (where weights stay on chip).

    Each inter-stage buffer holds `stage_buffer_inputs` inputs' worth of the activations
    between two layers: 2 is double buffering (a stage writes input i + 1 while the next
    reads input i); 1 makes neighbouring stages take turns."""

    stage_buffer_inputs: int = positive(default=2, at_most=1024)


@dataclass(frozen=True, kw_only=True)
class ArchBase:
    """An arch config: the design kind (a registered plug-in), its name and global clock.

    `source` is the file it was read from (filled by the loader, not a YAML key)."""

    kind: str
    name: str
    clock: Clock
    description: str = ""
    pipeline: Pipeline = field(default_factory=Pipeline)
    # the digital periphery (imcsim/periphery): a vector unit for the work that is not a
    # weight MAC, and where each kind of work runs; without a unit that work is untimed
    vector_unit: VectorUnit | None = None
    placement: Placement = field(default_factory=Placement)
    source: str = ""
