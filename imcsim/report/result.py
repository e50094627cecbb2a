"""Result objects of a run and their JSON form (names are a stable, documented interface).

Kind-neutral: every design kind fills the core fields (cycles, time, energy by category,
utilisation, area where it models one); what only one kind has goes in `details`.

Utilisation, for every kind and at every scale (a layer, the run, a time bin):

    utilisation = busy lane-cycles / (lanes x cycles)

summed over the compute units, where each kind says what a lane is (`lanes`: the columns
of a bit-serial subarray, the columns of a crossbar tile, the MAC cells of a photonic
core) and a compute step keeps busy the lanes it uses (a tile of 49 output pixels keeps
49 of a subarray's 256 columns busy).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

UTILISATION = "busy lane-cycles / (lanes x cycles)"


@dataclass
class LayerResult:
    name: str
    kind: str  # the layer's operation: "conv" | "fc"
    macs: int
    cycles: int
    time_s: float
    energy_breakdown_j: dict[str, float]
    utilisation: float
    weight_sparsity: float
    details: dict[str, Any] = field(default_factory=dict)  # what only this design kind has

    @property
    def energy_j(self) -> float:
        return sum(self.energy_breakdown_j.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": self.kind, "unit": "arrays", "macs": self.macs,
            "cycles": self.cycles,
            "time_s": self.time_s, "energy_j": self.energy_j,
            "energy_breakdown_j": dict(self.energy_breakdown_j),
            "utilisation": self.utilisation, "weight_sparsity": self.weight_sparsity,
            "details": self.details,
        }


@dataclass
class OpResult:
    """A graph node that is not a weight layer, timed where it ran: on the vector unit,
    or (an activation x activation matmul) on the arrays with its operand written in."""

    name: str
    op: str
    kind: str  # op_kinds: activation | elementwise | reduction | data
    macs: int
    elements: int
    cycles: int
    time_s: float
    energy_breakdown_j: dict[str, float]
    unit: str = "vector_unit"  # where it ran: vector_unit | arrays (placement)
    details: dict[str, Any] = field(default_factory=dict)  # arrays: writes, endurance

    @property
    def energy_j(self) -> float:
        return sum(self.energy_breakdown_j.values())

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "op": self.op, "kind": self.kind, "unit": self.unit,
                "macs": self.macs, "elements": self.elements, "cycles": self.cycles,
                "time_s": self.time_s, "energy_j": self.energy_j,
                "energy_breakdown_j": dict(self.energy_breakdown_j),
                **({"details": self.details} if self.details else {})}


@dataclass
class RunResult:
    arch: str
    arch_source: str
    kind: str  # the design kind (a plug-in name)
    net: str
    quantizer: str
    frequency_hz: float
    layers: list[LayerResult]
    area_breakdown_mm2: dict[str, float]  # empty: area not modelled for this kind
    lanes: str  # what a lane of a compute unit is
    lanes_total: int  # lanes of all compute units
    details: dict[str, Any] = field(default_factory=dict)  # what only this kind has
    record: Any = field(default=None, repr=False)  # engine JobRecord (not serialised)
    batch: int = 1  # inputs in the run
    # layers as pipeline stages over the batch (imcsim.pipeline): its summary, and the
    # Schedule itself (not serialised); None: layers one after another
    pipeline: dict[str, Any] | None = None
    schedule: Any = field(default=None, repr=False)
    # nodes run on the vector unit (after the weight layers), and energy of the whole run
    # outside any one layer or node (the vector unit's leakage)
    ops: list[OpResult] = field(default_factory=list)
    run_energy_j: dict[str, float] = field(default_factory=dict)

    @property
    def cycles(self) -> int:
        if self.schedule is not None:
            return int(self.schedule.cycles)
        return sum(la.cycles for la in self.layers) + sum(op.cycles for op in self.ops)

    @property
    def latency_s(self) -> float:
        """The first input's: its end in a pipeline; layer by layer, the end of the run
        (every input's outputs leave the last layer together)."""
        if self.schedule is not None:
            return self.schedule.latency_cycles / self.frequency_hz
        return self.time_s

    @property
    def throughput_per_s(self) -> float:
        """Inputs per second at steady state: one per pipeline interval, or the batch over
        the run's time."""
        if self.schedule is not None:
            return self.frequency_hz / self.schedule.interval_cycles
        return self.batch / self.time_s if self.time_s else 0.0

    @property
    def time_s(self) -> float:
        return self.cycles / self.frequency_hz

    @property
    def energy_breakdown_j(self) -> dict[str, float]:
        out: dict[str, float] = {}
        parts = [la.energy_breakdown_j for la in self.layers]
        parts += [op.energy_breakdown_j for op in self.ops] + [self.run_energy_j]
        for part in parts:
            for k, v in part.items():
                out[k] = out.get(k, 0.0) + v
        return out

    @property
    def energy_j(self) -> float:
        return sum(self.energy_breakdown_j.values())

    @property
    def area_mm2(self) -> float | None:
        """Chip area, None where the design kind does not model it."""
        return sum(self.area_breakdown_mm2.values()) if self.area_breakdown_mm2 else None

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def utilisation(self) -> float:
        if self.cycles == 0:
            return 0.0
        return sum(la.utilisation * la.cycles for la in self.layers) / self.cycles

    @property
    def power_w(self) -> float:
        return self.energy_j / self.time_s if self.time_s else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "arch": self.arch,
            "arch_file": self.arch_source,
            "kind": self.kind,
            "net": self.net,
            "quantizer": self.quantizer,
            "frequency_hz": self.frequency_hz,
            "utilisation": {"definition": UTILISATION, "lanes": self.lanes,
                            "lanes_total": self.lanes_total},
            "total": {
                "cycles": self.cycles, "time_s": self.time_s, "energy_j": self.energy_j,
                "power_w": self.power_w, "area_mm2": self.area_mm2, "macs": self.macs,
                "utilisation": self.utilisation,
                "batch": self.batch, "latency_s": self.latency_s,
                "throughput_per_s": self.throughput_per_s,
                "energy_per_input_j": self.energy_j / self.batch,
                "energy_breakdown_j": self.energy_breakdown_j,
                "area_breakdown_mm2": dict(self.area_breakdown_mm2),
                "details": self.details,
            },
            "layers": [layer.to_dict() for layer in self.layers],
            **({"pipeline": self.pipeline} if self.pipeline is not None else {}),
            **({"ops": [op.to_dict() for op in self.ops]} if self.ops else {}),
        }
