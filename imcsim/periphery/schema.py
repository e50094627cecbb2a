"""Arch sections of the digital periphery: `vector_unit` and `placement` (both optional,
in every design kind's YAML; see README, "The arch YAML")."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from imcsim.config.fields import non_negative, one_of, positive

WORK_CLASSES = ("elementwise", "special", "reduction", "data", "mac")
# periphery: untimed, as without a vector unit; arrays: an activation x activation matmul
# written into the design's own arrays (`periphery.dynamic`), where its kind can
PLACES = ("vector_unit", "periphery", "arrays")
UNIT_PLACES = ("vector_unit", "periphery")


@dataclass(frozen=True, kw_only=True)
class PerClass:
    """One number per class of work (see `work.py`): elementwise (add, multiply, compare,
    ReLU), special (exp, erf, tanh, sigmoid, sqrt, reciprocal), reduction (a sum or max
    over an axis), data (a move), mac (one activation x activation multiply-accumulate)."""

    elementwise: float = non_negative()
    special: float = non_negative()
    reduction: float = non_negative()
    data: float = non_negative()
    mac: float = non_negative()


@dataclass(frozen=True, kw_only=True)
class VectorUnit:
    """A SIMD unit: `lanes` elements per unit cycle, its own clock, costs per element."""

    lanes: int = positive(at_most=1 << 20)
    clock_hz: float = positive(at_least=1e3, at_most=1e12)
    element_bits: int = positive(default=8, at_most=64)  # datapath precision
    cycles_per_element: PerClass  # unit cycles per element and lane, by class
    energy_pj_per_element: PerClass  # by class (per MAC for mac)
    link_bits_per_cycle: int = positive(at_most=1 << 20)  # its link to the buffer, per cycle
    link_energy_pj_per_bit: float = non_negative()
    buffer_kib: int = positive(default=64, at_most=1 << 20)  # its local buffer
    area_mm2: float = non_negative()
    leakage_w: float = non_negative(default=0.0)


@dataclass(frozen=True, kw_only=True)
class Placement:
    """Where each kind of work runs (op_kinds: activation, elementwise, reduction, data;
    weight layers always run on the arrays), and per-op-type exceptions (`ops`:
    {"Softmax": "periphery"}). Default: on the vector unit when the arch has one. Only
    activation x activation matmuls may go to `arrays` (written into them)."""

    activation: str = one_of(PLACES, default="vector_unit")
    elementwise: str = one_of(UNIT_PLACES, default="vector_unit")
    reduction: str = one_of(UNIT_PLACES, default="vector_unit")
    data: str = one_of(UNIT_PLACES, default="vector_unit")
    # {op type: place} in the YAML, kept as sorted (op, place) pairs (an arch is hashable);
    # checked when placing (`placement.check_ops`), keys named in errors
    ops: Any = field(default=(), metadata={"raw": True})

    def __post_init__(self) -> None:
        if isinstance(self.ops, dict):  # as read: kept as (op, place) pairs, by op
            pairs = list(self.ops.items())
            pairs.sort(key=lambda p: str(p[0]))
            object.__setattr__(self, "ops", tuple(pairs))

    def place_of(self, op: str, kind: str) -> str:
        """Where an `op` node of work `kind` runs: its op type's entry, else its kind's."""
        return dict(self.ops).get(op, getattr(self, kind))


class WithPeriphery(Protocol):
    """What the periphery reads of an arch (every `ArchBase` has it)."""

    @property
    def source(self) -> str: ...

    @property
    def clock(self) -> Any: ...  # .frequency_hz

    @property
    def vector_unit(self) -> VectorUnit | None: ...

    @property
    def placement(self) -> Placement: ...
