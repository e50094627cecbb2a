"""Multi-level in situ generation (MLG; Gu et al., ICCV 2021, arXiv 2108.11430).

A layer's weights W (C_out, C_in, k, k) (C_in per group) are not stored; they are
regenerated on the photonic core from small stored tensors::

    level 1 (intra-kernel, rank b_in):  L1[o]  = coeff_in[o] @ basis[o]
                                         (C_in, k^2) = (C_in, b_in) @ (b_in, k^2),  o < b_out
    level 2 (cross-kernel, rank b_out): W      = coeff_out @ L1.reshape(b_out, C_in k^2)
                                         (C_out, C_in k^2) = (C_out, b_out) @ (b_out, C_in k^2)

A level is used only where it saves parameters: level 1 if 0 < b_in < min(C_in, k^2),
level 2 if 0 < b_out < min(C_out, C_in k^2) (as the reference implementation does);
without level 2 the basis has C_out slices (b_out = C_out, no coeff_out); without level 1
the basis is (b_out, C_in k^2) and coeff_in is absent. So for 1x1 convolutions and fully
connected layers (k^2 = 1) only level 2 can apply.

    params(stored) = |basis| + |coeff_in| + |coeff_out|
    compression    = params(W) / params(stored),   params(W) = C_out C_in k^2
    extra MACs     = b_out C_in b_in k^2 [level 1] + C_out b_out C_in k^2 [level 2]

The generation runs on the core as two matrix products: level 1 programs coeff_in[o]
(C_in x b_in) and streams the k^2 basis columns, once per o; level 2 programs coeff_out
(C_out x b_out) and streams the C_in k^2 columns of L1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


class WeightLayer(Protocol):
    """What the photonic models read of a weight layer (a workload ComputeLayer has it)."""

    @property
    def name(self) -> str: ...

    @property
    def out_channels(self) -> int: ...

    @property
    def in_channels(self) -> int: ...

    @property
    def groups(self) -> int: ...

    @property
    def kernel(self) -> tuple[int, int]: ...

    @property
    def out_pixels(self) -> int: ...

    @property
    def fan_in(self) -> int: ...

    @property
    def macs(self) -> int: ...

    @property
    def weight_count(self) -> int: ...

    @property
    def weight_bits(self) -> int: ...


@dataclass(frozen=True)
class MatmulShape:
    """A product run on the core: `groups` x [(m x n) weights times `vectors` columns]."""

    m: int
    n: int
    vectors: int
    groups: int = 1

    @property
    def macs(self) -> int:
        return self.groups * self.m * self.n * self.vectors


@dataclass(frozen=True)
class MlgPlan:
    c_out: int
    c_in: int  # per group
    k2: int
    base_in: int  # 0 when level 1 is off
    base_out: int  # slices of the basis (= c_out when level 2 is off)
    level1: bool
    level2: bool

    @property
    def active(self) -> bool:
        return self.level1 or self.level2

    @property
    def basis_shape(self) -> tuple[int, ...]:
        if self.level1:
            return (self.base_out, self.base_in, self.k2)
        return (self.base_out, self.c_in * self.k2)

    @property
    def coeff_in_shape(self) -> tuple[int, ...] | None:
        return (self.base_out, self.c_in, self.base_in) if self.level1 else None

    @property
    def coeff_out_shape(self) -> tuple[int, ...] | None:
        return (self.c_out, self.base_out) if self.level2 else None

    @property
    def weight_params(self) -> int:
        return self.c_out * self.c_in * self.k2

    @property
    def stored_params(self) -> int:
        if not self.active:
            return self.weight_params
        shapes = [self.basis_shape, self.coeff_in_shape, self.coeff_out_shape]
        return sum(int(np.prod(s)) for s in shapes if s is not None)

    @property
    def compression_ratio(self) -> float:
        return self.weight_params / self.stored_params

    def generation_jobs(self) -> list[MatmulShape]:
        """The products that regenerate W on the core (empty when MLG is off)."""
        jobs = []
        if self.level1:
            jobs.append(MatmulShape(self.c_in, self.base_in, self.k2, self.base_out))
        if self.level2:
            jobs.append(MatmulShape(self.c_out, self.base_out, self.c_in * self.k2, 1))
        return jobs

    @property
    def generation_macs(self) -> int:
        return sum(j.macs for j in self.generation_jobs())


def plan_mlg(layer: WeightLayer, base_in: int, base_out: int) -> MlgPlan:
    """Apply ranks (b_in, b_out) to `layer`, keeping only the levels that save parameters."""
    c_out = layer.out_channels
    c_in = layer.in_channels // layer.groups
    k2 = layer.kernel[0] * layer.kernel[1]
    level2 = 0 < base_out < min(c_out, c_in * k2)
    level1 = 0 < base_in < min(c_in, k2)
    return MlgPlan(c_out, c_in, k2, base_in if level1 else 0,
                   base_out if level2 else c_out, level1, level2)


def generate_weights(plan: MlgPlan, basis: np.ndarray, coeff_in: np.ndarray | None,
                     coeff_out: np.ndarray | None) -> np.ndarray:
    """W (C_out, C_in * k^2) from the stored tensors, by the two levels above."""
    level = basis if coeff_in is None else coeff_in @ basis  # (b_out, C_in, k2) batched
    level = level.reshape(plan.base_out, plan.c_in * plan.k2)
    return level if coeff_out is None else coeff_out @ level


def random_factors(plan: MlgPlan, rng: np.random.Generator):
    """Random (basis, coeff_in, coeff_out) of the plan's shapes (for tests and examples)."""
    def draw(shape):
        return None if shape is None else rng.standard_normal(shape)
    return draw(plan.basis_shape), draw(plan.coeff_in_shape), draw(plan.coeff_out_shape)
