"""Activation x activation matmuls run on a design's own arrays (placement `arrays`).

Attention's Q.K^T and A.V multiply two activations, so neither operand can sit in the
arrays before the run: one of them, the dynamic operand, is written into cells for this
inference, and the other streams past it. What that costs is the design kind's to say
(`DesignKind.dynamic_matmul`); this module holds what every kind returns and the matmul's
dimensions read off its `OpWork`:

    output (..., M, N) = A (..., M, K) x B (..., K, N),   K = MACs / output elements,
    heads = output elements / (M N)  (every leading axis, batch included).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from imcsim.engine.types import StreamPhase
from imcsim.workload.op_kinds import OpWork


@dataclass(frozen=True)
class MatmulDims:
    heads: int
    m: int
    k: int
    n: int

    @property
    def macs(self) -> int:
        return self.heads * self.m * self.k * self.n


def matmul_dims(work: OpWork, batch: int = 1) -> MatmulDims:
    """(heads, M, K, N) of an activation matmul node (module docstring)."""
    shape = work.output_shape
    m = int(shape[-2]) if len(shape) >= 2 else 1
    n = int(shape[-1]) if shape else 1
    k = work.macs // max(1, work.elements)
    heads = work.elements // max(1, m * n)
    return MatmulDims(heads * batch, m, k, n)


@dataclass(frozen=True)
class DynamicMatmul:
    """One matmul on the arrays: its engine phase and costs.

    written_bits: cell writes of dynamic operands (bits); writes_per_cell: the most
    times one cell is written in this node; endurance: writes a cell survives (None:
    not a limit of the technology)."""

    phase: StreamPhase
    energy_pj: dict[str, float]
    written_bits: int
    writes_per_cell: int
    endurance: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


__all__ = ["DynamicMatmul", "MatmulDims", "matmul_dims"]
