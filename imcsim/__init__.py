"""imcsim: a cycle-level simulator of in-memory-computing hardware for quantized networks.

The Python API (the command line calls the same functions):

    import imcsim
    result = imcsim.run("fat", "resnet20", sparsity=0.8)   # a shipped design, a zoo net
    result.totals["cycles"], result.totals["energy_j"]      # and per layer: result.layers
    cmp = imcsim.compare("fat", "parapim", "resnet20", sparsity=0.8)
    cmp["speedup"], cmp["energy_efficiency"]
    arch = imcsim.load_arch("fat")                          # a path, or a shipped name
    net = imcsim.load_network("resnet20", sparsity=0.8)
    imcsim.run(arch, net)                                   # objects work too

Kept light on purpose: the functions import the simulator on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from imcsim.errors import ImcsimError

if TYPE_CHECKING:
    from imcsim.app import Result, run
    from imcsim.app import compare_designs as compare
    from imcsim.app import load_design as load_arch
    from imcsim.workload.loader import load_network

__all__ = ["ImcsimError", "Result", "__version__", "compare", "load_arch", "load_network",
           "run"]
__version__ = "0.1.0"

_LAZY = {"run": ("imcsim.app", "run"), "compare": ("imcsim.app", "compare_designs"),
         "Result": ("imcsim.app", "Result"), "load_arch": ("imcsim.app", "load_design"),
         "load_network": ("imcsim.workload.loader", "load_network")}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'imcsim' has no attribute {name!r}")
