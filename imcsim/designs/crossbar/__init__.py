"""Analog crossbar designs (ReRAM with the in-memory nonlinear ramp ADC, PCM, AID
discharge-based 6T-SRAM multipliers): tiles of rows x cols cells read with row DACs and
column ADCs, a global buffer and a shared bus. Lanes: the columns of a tile."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from imcsim.designs.crossbar.schema import CrossbarArch, check_crossbar
from imcsim.designs.protocol import DesignKind, HookOptions, Plan


class CrossbarKind(DesignKind):
    name = "crossbar"
    summary = "analog crossbar tiles (ReRAM, PCM, AID 6T-SRAM) with DACs and ADCs"
    schema = CrossbarArch
    lanes = "columns of a crossbar tile"
    may_pipeline = True  # when every layer keeps its tiles (placement resident)
    analog_noise = True

    def check(self, arch: CrossbarArch) -> CrossbarArch:
        return dataclasses.replace(arch, crossbar=check_crossbar(arch.crossbar, arch.source))

    def plan(self, arch: CrossbarArch, net: Any, progress: bool = False) -> Plan:
        from imcsim.designs.crossbar.costs import plan_network

        return plan_network(arch, net)

    def stage_activation_bits(self, arch: CrossbarArch, single: Any) -> int | None:
        """Resident weights (every layer keeps its tiles): layers pipeline, passing
        input_bits activations."""
        return arch.crossbar.input_bits if single.details.get("resident") else None

    def dynamic_operands(self, arch: CrossbarArch) -> str | None:
        from imcsim.designs.crossbar.technologies import array_technology

        return array_technology(arch.crossbar.technology).no_dynamic_operands

    def dynamic_matmul(self, arch: CrossbarArch, net: Any, work: Any, names: list[str],
                       layer_index: int) -> Any:
        from imcsim.designs.crossbar.dynamic import dynamic_matmul

        return dynamic_matmul(arch, net, work, names, layer_index)

    def accuracy_hook(self, arch: CrossbarArch, rng: np.random.Generator,
                      options: HookOptions) -> tuple[Any, str]:
        from imcsim.designs.crossbar.accuracy import analog_hook

        return analog_hook(arch, rng, options.drift_time_s, options.snr_db)


KIND = CrossbarKind()
