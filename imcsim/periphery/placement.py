"""Where each graph node that is not a weight layer runs: on the vector unit (timed), in
the untimed digital periphery, or - an activation x activation matmul only - on the
design's own arrays with the dynamic operand written into them (`periphery.dynamic`), by
the arch's `placement` (per kind of work, then per op type). Without a vector unit
everything else stays in the periphery, except what cannot: an activation x activation
matmul with nowhere to run is a one-line error naming it."""

from __future__ import annotations

from dataclasses import dataclass

from imcsim.errors import ConfigError, WorkloadError
from imcsim.periphery.schema import PLACES, Placement, WithPeriphery
from imcsim.workload.layer import Network
from imcsim.workload.op_kinds import ACTIVATION, OpWork


@dataclass(frozen=True)
class Placed:
    work: OpWork
    place: str  # one of PLACES


def check_ops(placement: Placement, source: str) -> None:
    """`placement.ops` maps op type names to places (ConfigError naming the key); a
    mapping as read is kept as (op, place) pairs (`Placement.__post_init__`)."""
    ops = placement.ops
    if not isinstance(ops, tuple) or not all(isinstance(p, tuple) and len(p) == 2
                                             for p in ops):
        raise ConfigError("expected a mapping of op types to places", source=source,
                          key="placement.ops")
    for op, place in ops:
        key = f"placement.ops.{op}"
        if not isinstance(op, str) or not op.isidentifier():
            raise ConfigError("op types are names such as Softmax", source=source, key=key)
        if place not in PLACES:
            raise ConfigError(f"unknown place {place!r} (choose from {', '.join(PLACES)})",
                              source=source, key=key)


def place(arch: WithPeriphery, net: Network, arrays_refuse: str | None = None
          ) -> list[Placed]:
    """Every non-weight node of `net` with where it runs on `arch`, in node order.
    `arrays_refuse`: why the design's arrays cannot take a dynamic operand (None: they
    can; `DesignKind.dynamic_operands`)."""
    unit = arch.vector_unit
    policy = arch.placement
    check_ops(policy, arch.source)
    out = []
    for work in net.other_ops:
        where = policy.place_of(work.op, work.kind)
        if where == "arrays":
            if work.kind != ACTIVATION:
                raise ConfigError(f"only a matmul of two activations can run on the "
                                  f"arrays; {work.op} is {work.kind} work",
                                  source=arch.source, key=f"placement.ops.{work.op}")
            if arrays_refuse is not None:
                raise WorkloadError(f"{work.op} placed on the arrays, but {arrays_refuse}",
                                    source=net.source, key=f"node {work.name} ({work.op})")
            out.append(Placed(work, where))
            continue
        if unit is None:
            where = "periphery"
        if work.kind == ACTIVATION and where != "vector_unit":
            reason = ("the arch has no vector_unit" if unit is None
                      else f"placement puts {work.op} in the untimed periphery")
            raise WorkloadError(
                f"{work.op} between two activations ({work.macs:,} MACs) has nowhere to "
                f"run: {reason}; weight layers run on the arrays", source=net.source,
                key=f"node {work.name} ({work.op})")
        out.append(Placed(work, where))
    return out
