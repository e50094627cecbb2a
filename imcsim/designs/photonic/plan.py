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
# Light per MAC a layer reports (aJ): all optical power (lasers and local oscillators),
# the local oscillators alone, and the light reaching the detectors.
LIGHT_FIGURES = ("optical_aj_per_mac", "lo_aj_per_mac", "detector_aj_per_mac")


def light_per_mac(costs: list[dict], macs: int) -> dict[str, float]:
    """The network's LIGHT_FIGURES (aJ per MAC) from its layers' costs (`layer_cost`)."""
    return {key: sum(c[key] * c["macs"] for c in costs) / macs for key in LIGHT_FIGURES}


def check_layer_names(params: PhotonicParams, network: Network,
                      prefix: str = "photonic") -> None:
    """Per-layer settings must name layers of `network` (ConfigError naming the key)."""
    names = {layer.name for layer in network.layers}
    prefix = f"{prefix}." if prefix else ""
    for section, entries in (("precision.per_layer", params.precision.per_layer),
                             ("precision.per_layer_bits", params.precision.per_layer_bits),
                             ("mlg.per_layer", params.mlg.per_layer)):
        for name in entries:
            if name not in names:
                raise ConfigError(f"no layer named {name!r} in {network.name}",
                                  source=params.source or None,
                                  key=f"{prefix}{section}.{name}")


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
        energy_pj = 0.0
        for cost in costs:
            energy_pj += sum(cost["energy_pj"].values())
            layers.append(LayerCosts(
                {k: v * PJ for k, v in cost["energy_pj"].items()},
                {"mapping": {"tiles": int(cost["tiles"]),
                             "cores_used": min(cores, cost["tiles"])},
                 "repeats": cost["repeats"], "enob": cost["enob"],
                 "bits_required": cost["bits_required"], "bits_of": cost["bits_of"],
                 "enob_reference": cost["enob_reference"],
                 "noise_shares": cost["noise_shares"],
                 **{key: cost[key] for key in LIGHT_FIGURES},
                 "total_pj_per_mac": cost["total_pj_per_mac"]}))
        macs = net.total_macs
        return RunCosts(layers, {}, {**light_per_mac(costs, macs),
                                     "laser_sizing": params.laser.sizing,
                                     "receiver": params.detector.receiver,
                                     "total_pj_per_mac": energy_pj / macs,
                                     "clock": core.clock_note})

    return Plan(resources(cores, cells), list(phases), run_costs)
