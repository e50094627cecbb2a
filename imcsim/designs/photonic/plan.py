"""Planning a network on a photonic design: per-layer costs from the photonic core model,
tiles as engine jobs on the cores, energy by optical/electrical component."""

from __future__ import annotations

import numpy as np

from imcsim.circuits.photonic import PhotonicCore, layer_cost
from imcsim.circuits.photonic_params import PhotonicParams
from imcsim.designs.photonic.mapping import layer_phases, resources
from imcsim.designs.photonic.schema import PhotonicArch
from imcsim.designs.protocol import LayerCosts, Plan, RunCosts
from imcsim.engine.types import EngineResult, Phase
from imcsim.errors import ConfigError
from imcsim.workload.layer import Network

PJ = 1e-12


def check_layer_names(params: PhotonicParams, network: Network,
                      prefix: str = "photonic") -> None:
    """Per-layer settings must name layers of `network` (ConfigError naming the key)."""
    names = {layer.name for layer in network.layers}
    prefix = f"{prefix}." if prefix else ""
    for section, entries in (("precision", params.precision.per_layer),
                             ("mlg", params.mlg.per_layer)):
        for name in entries:
            if name not in names:
                raise ConfigError(f"no layer named {name!r} in {network.name}",
                                  source=params.source or None,
                                  key=f"{prefix}{section}.per_layer.{name}")


def plan_network(arch: PhotonicArch, net: Network) -> Plan:
    params = arch.photonic
    f = arch.clock.frequency_hz
    core = PhotonicCore.from_params(params, f)
    check_layer_names(params, net)
    cores, cells = params.core.cores, params.core.rows * params.core.cols
    costs: list[dict] = []
    phases: list[Phase] = []
    for idx, layer in enumerate(net.layers):
        cost = layer_cost(layer, core)
        costs.append(cost)
        phases += layer_phases(idx, layer.name, cost, cores, cells)

    def run_costs(layer_cycles: np.ndarray, engine: EngineResult) -> RunCosts:
        layers = []
        optical_pj = energy_pj = 0.0
        for cost in costs:
            optical_pj += cost["optical_aj_per_mac"] * cost["macs"] * 1e-6
            energy_pj += sum(cost["energy_pj"].values())
            layers.append(LayerCosts(
                {k: v * PJ for k, v in cost["energy_pj"].items()},
                {"mapping": {"tiles": int(cost["tiles"]),
                             "cores_used": min(cores, cost["tiles"])},
                 "repeats": cost["repeats"], "enob": cost["enob"],
                 "optical_aj_per_mac": cost["optical_aj_per_mac"],
                 "total_pj_per_mac": cost["total_pj_per_mac"]}))
        macs = net.total_macs
        return RunCosts(layers, {}, {"optical_aj_per_mac": optical_pj / macs * 1e6,
                                     "total_pj_per_mac": energy_pj / macs,
                                     "clock": core.clock_note})

    return Plan(resources(cores, cells), list(phases), run_costs)
