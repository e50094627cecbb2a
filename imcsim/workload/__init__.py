"""Workloads: graph IR, built-in zoo, quantizers and per-layer statistics (no hardware here).

`load_network` is imported on first use, so `import imcsim.workload` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from imcsim.workload.layer import ComputeLayer, Network

if TYPE_CHECKING:
    from imcsim.workload.loader import load_network

__all__ = ["ComputeLayer", "Network", "load_network"]


def __getattr__(name: str) -> Any:
    if name == "load_network":
        from imcsim.workload.loader import load_network

        return load_network
    raise AttributeError(f"module 'imcsim.workload' has no attribute {name!r}")
