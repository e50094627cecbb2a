"""imcsim: a cycle-level simulator of in-memory-computing hardware for quantized networks.

Kept light on purpose: heavy modules (numba kernels, simpy, matplotlib) load where used.
"""

from imcsim.errors import ImcsimError

__all__ = ["ImcsimError", "__version__"]
__version__ = "0.1.0"
