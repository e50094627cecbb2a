"""Photonic designs: identical photonic tensor cores (microring weight banks or MZI
meshes) fed by a laser, with modulators, DACs, detectors and ADCs; dynamic precision by
repeat-and-average, optional multi-level in-situ weight generation. Lanes: the MAC cells
(rows x cols) of a core."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from imcsim.designs.photonic.schema import PhotonicArch
from imcsim.designs.protocol import DesignKind, HookOptions, Plan


class PhotonicKind(DesignKind):
    name = "photonic"
    summary = "photonic tensor cores (laser, modulators, detectors, ADCs)"
    schema = PhotonicArch
    lanes = "MAC cells (rows x cols) of a photonic core"
    analog_noise = True

    def check(self, arch: PhotonicArch) -> PhotonicArch:
        from imcsim.circuits.photonic_params import validate_photonic
        from imcsim.circuits.photonic_sizing import check_laser_budget

        params = validate_photonic(arch.photonic, arch.source, "photonic")
        check_laser_budget(params, arch.source, "photonic")
        return dataclasses.replace(arch, photonic=params)

    def plan(self, arch: PhotonicArch, net: Any, progress: bool = False) -> Plan:
        from imcsim.designs.photonic.plan import plan_network

        return plan_network(arch, net)

    def accuracy_hook(self, arch: PhotonicArch, rng: np.random.Generator,
                      options: HookOptions) -> tuple[Any, str]:
        from imcsim.circuits.photonic import PhotonicCore
        from imcsim.functional.noisy import PhotonicHook

        params = arch.photonic
        core = PhotonicCore.from_params(params, arch.clock.frequency_hz)
        hook = PhotonicHook(core, rng, options.snr_db)
        extra = "" if options.snr_db is None else (
            f", injected noise at {options.snr_db:g} dB SNR per reading")
        return hook, (f"photonic noise (shot, thermal, weight; {params.detector.receiver} "
                      f"receiver, laser sized by {params.laser.sizing}) with per-layer "
                      f"repeats{extra}")

    def option_overrides(self, options: dict[str, Any]) -> dict[str, Any]:
        """`repeat` K: repeat-and-average every MVM K times (dynamic precision)."""
        repeat = options.pop("repeat", None)
        out = super().option_overrides(options)
        if repeat is not None:
            out["photonic.precision.default_repeats"] = repeat
        return out


KIND = PhotonicKind()
