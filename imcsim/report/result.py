"""Result objects of a run and their JSON form (names are a stable, documented interface)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ENERGY_CATEGORIES = ("array", "sense_amplifiers", "controller", "buffers", "interconnect",
                     "leakage")


@dataclass
class LayerResult:
    name: str
    kind: str
    macs: int
    cycles: int
    time_s: float
    energy_breakdown_j: dict[str, float]
    utilisation: float
    weight_sparsity: float
    adds: int  # additions/subtractions issued to subarrays (reduction included)
    skipped: int  # zero weights the controller skipped
    split: int
    tiles: int
    items: int
    extra: dict[str, Any] = field(default_factory=dict)  # model-specific readings

    @property
    def energy_j(self) -> float:
        return sum(self.energy_breakdown_j.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": self.kind, "macs": self.macs, "cycles": self.cycles,
            "time_s": self.time_s, "energy_j": self.energy_j,
            "energy_breakdown_j": dict(self.energy_breakdown_j),
            "utilisation": self.utilisation, "weight_sparsity": self.weight_sparsity,
            "adds": self.adds, "skipped": self.skipped,
            "mapping": {"split": self.split, "tiles": self.tiles, "items": self.items},
            **self.extra,
        }


@dataclass
class RunResult:
    arch: str
    arch_source: str
    net: str
    quantizer: str
    frequency_hz: float
    layers: list[LayerResult]
    area_breakdown_mm2: dict[str, float]
    sa_level: dict[str, float]
    record: Any = field(default=None, repr=False)  # engine JobRecord (not serialised)
    kind: str = "digital"
    extra: dict[str, Any] = field(default_factory=dict)  # model-specific totals

    @property
    def cycles(self) -> int:
        return sum(layer.cycles for layer in self.layers)

    @property
    def time_s(self) -> float:
        return self.cycles / self.frequency_hz

    @property
    def energy_breakdown_j(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for layer in self.layers:
            for k, v in layer.energy_breakdown_j.items():
                out[k] = out.get(k, 0.0) + v
        return out

    @property
    def energy_j(self) -> float:
        return sum(self.energy_breakdown_j.values())

    @property
    def area_mm2(self) -> float:
        return sum(self.area_breakdown_mm2.values())

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
            "net": self.net,
            "quantizer": self.quantizer,
            "frequency_hz": self.frequency_hz,
            "total": {
                "cycles": self.cycles, "time_s": self.time_s, "energy_j": self.energy_j,
                "power_w": self.power_w, "area_mm2": self.area_mm2, "macs": self.macs,
                "utilisation": self.utilisation,
                "energy_breakdown_j": self.energy_breakdown_j,
                "area_breakdown_mm2": dict(self.area_breakdown_mm2),
                **self.extra,
            },
            "kind": self.kind,
            "sa_level": dict(self.sa_level),
            "layers": [layer.to_dict() for layer in self.layers],
        }
