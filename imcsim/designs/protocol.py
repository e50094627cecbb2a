"""The one protocol every design kind implements, and what its plan hands the driver.

The generic driver (`imcsim.simulate`) does, for any kind:

    kind = design_kind(arch.kind)
    plan = kind.plan(arch, net)                   # resources (with roles and lanes), phases
    engine = run(plan.phases, plan.resources)     # cycles, contention, the job record
    costs = plan.costs(layer_cycles, engine)      # energy by category, area, details
    -> RunResult (cycles and utilisation read from the engine record, by role)

A kind overrides what it supports; the defaults refuse politely (a UsageError naming
the option) or add nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from imcsim.designs.base import ArchBase
from imcsim.engine.types import EngineResult, Phase, Resource, StreamPhase
from imcsim.errors import UsageError

if TYPE_CHECKING:
    from imcsim.functional.graph_exec import LinearHook, MatmulHook
    from imcsim.periphery.dynamic import DynamicMatmul
    from imcsim.report.result import RunResult
    from imcsim.workload.layer import Network, OpWork


@dataclass
class LayerCosts:
    """One layer's energy by category (J, leakage included) and kind-specific readings."""

    energy_breakdown_j: dict[str, float]
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunCosts:
    layers: list[LayerCosts]
    area_breakdown_mm2: dict[str, float]
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    """What a kind hands the driver: the engine's resources and phases, and how to cost
    the run once the engine has timed it (`costs(layer_cycles, engine)`)."""

    resources: list[Resource]
    phases: list[Phase | StreamPhase]
    costs: Callable[[np.ndarray, EngineResult], RunCosts]


@dataclass(frozen=True)
class HookOptions:
    """How `--accuracy` computes products: analog drift, digital bit flips, the real
    micro-programs, or injected analog noise at a signal-to-noise power ratio (dB; None:
    none; only where the kind's `analog_noise` says it is analog)."""

    drift_time_s: float = 0.0
    bit_flip_rate: float = 0.0
    functional: bool = False
    snr_db: float | None = None


class FunctionalReport(Protocol):
    """The outcome of a bit-exact functional check."""

    @property
    def all_match(self) -> bool: ...

    def to_dict(self) -> dict[str, Any]: ...

    def text(self) -> str: ...


class DesignKind:
    """A design kind: subclass it in `imcsim/designs/<kind>/` and expose `KIND`."""

    name: str = ""  # the arch YAML's `kind:` value
    summary: str = ""  # one line: what designs of this kind are
    schema: type[ArchBase] = ArchBase  # the arch dataclass (sections are its fields)
    lanes: str = ""  # what a lane of a compute unit is (utilisation counts busy lanes)
    # whether a run of this kind can keep its weights on chip (then `stage_activation_bits`
    # is asked, from a single-input run); False: a batch runs layer by layer directly
    may_pipeline: bool = False
    # whether its products are analog values that injected noise (`HookOptions.snr_db`,
    # `--snr-db`) can enter; a digital kind refuses the option
    analog_noise: bool = False

    def check(self, arch: Any) -> Any:
        """Cross-key checks the typed schema cannot express; may resolve referenced files.
        Returns the (possibly completed) arch; ConfigError naming arch.source and the key."""
        return arch

    def plan(self, arch: Any, net: Network, progress: bool = False) -> Plan:
        raise NotImplementedError

    def stage_activation_bits(self, arch: Any, single: RunResult) -> int | None:
        """Bits of one activation between layers if this run's weights stay on chip, so
        that its layers can run as pipeline stages over a batch; None: they cannot (a
        batch then runs layer by layer, its inputs side by side)."""
        return None

    def accuracy_hook(self, arch: Any, rng: np.random.Generator, options: HookOptions
                      ) -> tuple[LinearHook, str]:
        """The linear hook computing products as this design does, and a description."""
        raise UsageError(f"accuracy is not modelled for {self.name} designs",
                         key="accuracy")

    def matmul_hook(self, arch: Any, options: HookOptions) -> MatmulHook | None:
        """How this design computes a MatMul of two activations in accuracy runs (None:
        exactly, as a digital unit does)."""
        return None

    def functional_check(self, arch: Any, net: Network, layers: int | None = None
                         ) -> FunctionalReport:
        """Run the real micro-programs on real data and check outputs and cycles."""
        raise UsageError(f"a bit-exact functional check needs a bit-serial design; "
                         f"{arch.name} is a {self.name} design", key="functional")

    def option_overrides(self, options: dict[str, Any]) -> dict[str, Any]:
        """Arch key overrides for run options this kind understands (None: not given);
        an option it does not understand is a UsageError naming it."""
        for key, value in options.items():
            if value is not None:
                raise UsageError(f"does not apply to {self.name} designs", key=key)
        return {}

    def dynamic_operands(self, arch: Any) -> str | None:
        """None if this design's arrays can run an activation x activation matmul (the
        placement `arrays`); else why not, for a one-line error."""
        return f"{self.name} designs cannot write a dynamic operand into their arrays"

    def dynamic_matmul(self, arch: Any, net: Network, work: OpWork, names: list[str],
                       layer_index: int) -> DynamicMatmul:
        """An activation x activation matmul of `net` (over its batch) on the arrays
        (`periphery.dynamic`): its engine phase over this kind's resources (`names`
        indexes the whole table) and its costs. Asked only where `dynamic_operands` is
        None."""
        raise NotImplementedError

    def compare_details(self, design: RunResult, baseline: RunResult) -> dict[str, Any]:
        """Kind-specific readings of a comparison of two designs of this kind."""
        return {}

    def report_lines(self, result: RunResult) -> list[str]:
        """Kind-specific lines of the run's text report (after the totals)."""
        return []

    def compare_report_lines(self, doc: dict[str, Any]) -> list[str]:
        """Kind-specific lines of a comparison's text report (its `details`)."""
        return []
