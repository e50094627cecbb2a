"""The noisy linear hook of an analog (crossbar) arch, built from its `crossbar` section.

PCM and ReRAM tiles: `noisy.CrossbarHook` with the arch's device model, the input
precision of the row drivers (`input_bits`, applied bit-serially, so inputs are exact at
that precision) and the ADC resolution applied to each layer's product (one conversion
per output here; the timing model converts per read and slice, which only adds
quantization noise this hook leaves out). AID 6T-SRAM tiles: exact products quantized by
the ADC (the multiplier's own mismatch is studied by `imcsim circuit aid`).
"""

from __future__ import annotations

import numpy as np

from imcsim.designs.crossbar.schema import CrossbarArch as Arch
from imcsim.functional.graph_exec import LinearCall, LinearHook
from imcsim.functional.noisy import CrossbarHook, quantize_uniform


def analog_hook(arch: Arch, rng: np.random.Generator, drift_time_s: float
                ) -> tuple[LinearHook, str]:
    xb = arch.crossbar
    assert xb is not None
    adc_bits = xb.adc.bits if xb.adc is not None else (
        xb.nl_adc.bits if xb.nl_adc is not None else None)
    if xb.technology == "pcm":
        from imcsim.tech.pcm import Pcm

        hook = CrossbarHook(Pcm(xb.device), rng, drift_time_s, adc_bits, xb.input_bits)
        return hook, (f"PCM programming noise, drift to {drift_time_s:g} s, 1/f read noise, "
                      f"{xb.input_bits}-bit inputs, {adc_bits}-bit ADC")
    if xb.technology == "reram":
        hook = CrossbarHook(xb.device, rng, 0.0, adc_bits, xb.input_bits)
        return hook, (f"ReRAM variation and stuck-at faults, {xb.input_bits}-bit inputs, "
                      f"{adc_bits}-bit ADC")

    def aid(call: LinearCall) -> np.ndarray:
        y = call.rows @ call.weights.T
        full = float(np.abs(y).max()) if y.size else 0.0
        return quantize_uniform(y, adc_bits, -full, full)

    return aid, f"AID tiles: exact products, {adc_bits}-bit ADC"
