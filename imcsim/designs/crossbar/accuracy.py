"""The noisy linear hook of an analog (crossbar) arch, from its technology
(`designs.crossbar.technologies`).

PCM and ReRAM tiles: `noisy.CrossbarHook` with the arch's device model, the weight
magnitude bits of a stored weight (`weight_bits`), the input precision of the row drivers
(`input_bits`, applied bit-serially, so inputs are exact at that precision) and the ADC
resolution applied to each layer's product (one conversion per output here; the timing
model converts per read and slice, which only adds quantization noise this hook leaves
out; bit slices of a weight are programmed as one analog conductance). AID 6T-SRAM tiles: exact products quantized by
the circuit's ADC (the multiplier's own mismatch is studied by `imcsim circuit aid`).
"""

from __future__ import annotations

import numpy as np

from imcsim.designs.crossbar.schema import CrossbarArch
from imcsim.designs.crossbar.technologies import array_technology
from imcsim.functional.graph_exec import LinearHook


def analog_hook(arch: CrossbarArch, rng: np.random.Generator, drift_time_s: float,
                snr_db: float | None = None) -> tuple[LinearHook, str]:
    xb = arch.crossbar
    return array_technology(xb.technology).accuracy_hook(xb, rng, drift_time_s, snr_db)
