"""Run a network on a photonic arch: per-layer costs from the photonic core model, tiles
as engine jobs on the cores, energy by optical/electrical component."""

from __future__ import annotations

import numpy as np

from imcsim.arch.schema import Arch
from imcsim.circuits.photonic import PhotonicCore, check_layer_names, layer_cost
from imcsim.engine import run
from imcsim.mapping.photonic import core_name, layer_phases
from imcsim.report.result import LayerResult, RunResult
from imcsim.workload.layer import Network

PJ = 1e-12


def simulate_photonic(arch: Arch, net: Network) -> RunResult:
    params = arch.photonic
    assert params is not None
    f = arch.clock.frequency_hz
    core = PhotonicCore.from_params(params, f)
    check_layer_names(params, net)
    cores = params.core.cores
    costs, phases = [], []
    for idx, layer in enumerate(net.layers):
        cost = layer_cost(layer, core)
        costs.append(cost)
        phases += layer_phases(idx, layer.name, cost, cores)
    engine = run(phases, [core_name(k) for k in range(cores)])
    cycles = engine.layer_cycles(len(net.layers))
    busy = np.zeros(len(net.layers))
    for layer_i, s, e in zip(engine.record.layer, engine.record.start, engine.record.end,
                             strict=True):
        busy[layer_i] += e - s
    layers = []
    optical_pj = 0.0
    for idx, (layer, cost) in enumerate(zip(net.layers, costs, strict=True)):
        cyc = int(cycles[idx])
        optical_pj += cost["optical_aj_per_mac"] * cost["macs"] * 1e-6
        layers.append(LayerResult(
            name=layer.name, kind=layer.kind, macs=layer.macs, cycles=cyc, time_s=cyc / f,
            energy_breakdown_j={k: v * PJ for k, v in cost["energy_pj"].items()},
            utilisation=busy[idx] / (cores * cyc) if cyc else 0.0,
            weight_sparsity=float(1 - np.count_nonzero(layer.weights) / layer.weight_count),
            adds=0, skipped=0, split=1, tiles=int(cost["tiles"]), items=min(cores, cost["tiles"]),
            extra={"repeats": cost["repeats"], "enob": cost["enob"],
                   "optical_aj_per_mac": cost["optical_aj_per_mac"],
                   "total_pj_per_mac": cost["total_pj_per_mac"]}))
    macs = sum(la.macs for la in layers)
    result = RunResult(arch=arch.name, arch_source=arch.source, net=net.name,
                       quantizer=net.quantizer, frequency_hz=f, layers=layers,
                       area_breakdown_mm2={}, sa_level={}, record=engine.record,
                       kind="photonic")
    result.extra = {"optical_aj_per_mac": optical_pj / macs * 1e6,
                    "total_pj_per_mac": result.energy_j / PJ / macs,
                    "clock": core.clock_note}
    return result
