"""Digital bit-serial designs (ParaPIM, FAT, FAT on SRAM): banks of subarrays whose
sense amplifiers add bit-serially (checked micro-programs), a controller per bank that
walks the weights (skipping zeros with sparse addition control), a bus per bank and a
global buffer. Lanes: the columns of a subarray."""

from __future__ import annotations

from typing import Any

import numpy as np

from imcsim.designs.bitserial.schema import BitSerialArch
from imcsim.designs.protocol import DesignKind, FunctionalReport, HookOptions, Plan
from imcsim.errors import ConfigError


class BitSerialKind(DesignKind):
    name = "bitserial"
    summary = "digital bit-serial subarrays (sense-amplifier addition, zero skipping)"
    schema = BitSerialArch
    lanes = "columns of a bit-serial subarray"

    def check(self, arch: BitSerialArch) -> BitSerialArch:
        if arch.mapping.cut_channels and not (arch.mapping.balance_channels
                                              and arch.controller.sparse_addition_control):
            raise ConfigError("cutting a channel between items needs "
                              "controller.sparse_addition_control and "
                              "mapping.balance_channels (the cut follows the channel's "
                              "nonzero weights)", source=arch.source,
                              key="mapping.cut_channels")
        return arch

    def plan(self, arch: BitSerialArch, net: Any, progress: bool = False) -> Plan:
        from imcsim.designs.bitserial.plan import plan_network

        return plan_network(arch, net, progress)

    def accuracy_hook(self, arch: BitSerialArch, rng: np.random.Generator,
                      options: HookOptions) -> tuple[Any, str]:
        if options.bit_flip_rate > 0:
            from imcsim.functional.noisy import BitFlipHook

            return (BitFlipHook(options.bit_flip_rate, rng),
                    f"stored-weight bit flips at rate {options.bit_flip_rate:g}")
        if options.functional:
            from imcsim.designs.bitserial.functional import DigitalHook

            return DigitalHook(arch), "bit-serial micro-programs on every product"
        from imcsim.functional.graph_exec import exact_linear

        return exact_linear, "exact integer products (digital)"

    def matmul_hook(self, arch: BitSerialArch, options: HookOptions) -> Any:
        """With --functional and attention placed on the arrays, its products run
        through the multiply micro-program; otherwise they are exact (a digital unit)."""
        if options.functional and arch.placement.place_of("MatMul", "activation") == "arrays":
            from imcsim.designs.bitserial.matmul_functional import BitSerialMatmul

            return BitSerialMatmul(arch)
        return None

    def functional_check(self, arch: BitSerialArch, net: Any, layers: int | None = None
                         ) -> FunctionalReport:
        from imcsim.designs.bitserial.functional import check_network

        return check_network(arch, net, layers=layers)

    def dynamic_operands(self, arch: BitSerialArch) -> str | None:
        return None  # every row is rewritable: the multiply micro-program does the rest

    def dynamic_matmul(self, arch: BitSerialArch, net: Any, work: Any, names: list[str],
                       layer_index: int) -> Any:
        from imcsim.designs.bitserial.dynamic import dynamic_matmul

        return dynamic_matmul(arch, work, net.batch, names, layer_index)

    def compare_details(self, design: Any, baseline: Any) -> dict[str, Any]:
        from imcsim.designs.bitserial.compare import decompose, sa_level_ratios

        return {"sa_level": sa_level_ratios(design, baseline),
                "decomposition": decompose(design, baseline)}

    def report_lines(self, result: Any) -> list[str]:
        from imcsim.designs.bitserial.report import run_lines

        return run_lines(result)

    def compare_report_lines(self, doc: dict[str, Any]) -> list[str]:
        from imcsim.designs.bitserial.report import compare_lines

        return compare_lines(doc)


KIND = BitSerialKind()
