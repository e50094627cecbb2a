"""What `imcsim validate` measures: named probes, each a function of the design's config
(where it needs one) and its YAML arguments returning a document whose dotted keys the
checks read. Every figure comes out of the models; nothing here knows a published value.

    compare          the comparison of the design with a baseline design on a network
    run              a run's totals, its MACs split into weight and activation MACs
    network          a network's MACs and parameters (no design)
    sparsity_ratio   a run's cycles and energy at one sparsity over another
    circuit          a circuit study (`imcsim circuit`: aid, adc, nl-adc)
    pcm_programming  the PCM model's programming noise, sampled
    photonic_repeats the photonic core's output noise after K repeats over one reading
    photonic_light   light per MAC of a network on the photonic core, per laser sizing
                     and receiver
    accuracy         a network's accuracy on the design's functional path (`imcsim run
                     --accuracy`): exact reference and simulated, the mean over seeds

`overrides` (dotted keys) apply to every arch the probe loads, or to the circuit
config of a circuit study: an ablation.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

Probe = Callable[..., dict[str, Any]]


def _arch(path: str | Path, overrides: dict[str, Any] | None) -> Any:
    from imcsim.arch import load_arch
    from imcsim.shipped import resolve_design

    return load_arch(resolve_design(path), overrides)


def compare(design: Path, *, baseline: str, network: str, sparsity: float | None = None,
            seed: int = 0, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    from imcsim.app import compare_designs
    from imcsim.workload.loader import load_network

    net = load_network(network, sparsity=sparsity, seed=seed)
    return compare_designs(_arch(design, overrides), _arch(baseline, overrides), net)


def run(design: Path, *, network: str, seq: int | None = None, seed: int = 0,
        overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    from imcsim.simulate import simulate
    from imcsim.workload.loader import load_network

    net = load_network(network, seed=seed, seq=seq)
    res = simulate(_arch(design, overrides), net)
    activation = sum(op.macs for op in res.ops if op.kind == "activation")
    return {**res.to_dict(), "weight_macs": res.macs, "activation_macs": activation,
            "total_macs": res.macs + activation}


def network(*, network: str, seq: int | None = None, seed: int = 0) -> dict[str, Any]:
    from imcsim.workload.loader import load_network

    net = load_network(network, seed=seed, seq=seq)
    return {"total_macs": net.total_macs, "total_params": net.total_params,
            "activation_macs": net.activation_macs}


def sparsity_ratio(design: Path, *, network: str, sparsities: list[float], seed: int = 0,
                   overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """cycles and energy at sparsities[1] over those at sparsities[0]."""
    from imcsim.simulate import simulate
    from imcsim.workload.loader import load_network

    arch = _arch(design, overrides)
    a, b = (simulate(arch, load_network(network, sparsity=s, seed=seed)) for s in sparsities)
    return {"cycles": b.cycles / a.cycles, "energy": b.energy_j / a.energy_j}


def circuit(*, circuit: str, seed: int = 0, overrides: dict[str, Any] | None = None
            ) -> dict[str, Any]:
    """The circuit study's document; `overrides` are dotted keys of its circuit config."""
    from imcsim.circuits.study import circuit_command

    return circuit_command(circuit, {"config": None, "seed": seed, "overrides": overrides})[0]


def pcm_programming(*, g: float, samples: int = 200_000, seed: int = 0) -> dict[str, Any]:
    """Programming noise of the shipped PCM model at normalised target g, sampled."""
    from imcsim.circuits.analog_params import load_pcm
    from imcsim.tech.pcm import Pcm

    pcm = Pcm(load_pcm())
    target = g * pcm.p.g_max_us
    drawn = pcm.program(np.full(samples, target), np.random.default_rng(seed))
    return {"sigma_us": float(drawn.std()), "mean_us": float(drawn.mean())}


def photonic_repeats(design: Path, *, repeats: int, samples: int = 2000, seed: int = 0
                     ) -> dict[str, Any]:
    """RMS output error after `repeats` readings averaged over that of one reading, on
    random full-scale operands (64 x 48 weights, `samples` inputs), at one light: the
    detector current the design gives a single reading of fan-in 48."""
    from imcsim.circuits.photonic_noise import noisy_matvec
    from imcsim.circuits.photonic_sizing import unit_current

    params = _arch(design, None).photonic
    i1 = unit_current(params, 48)
    rng = np.random.default_rng(seed)
    w = rng.uniform(-1, 1, size=(64, 48))
    x = rng.uniform(0, 1, size=(48, samples))
    exact = w @ x
    rms = [float(np.sqrt(np.mean((noisy_matvec(w, x, params, k, np.random.default_rng(
        seed + k), i1) - exact) ** 2))) for k in (1, repeats)]
    return {"noise_ratio": rms[1] / rms[0]}


def photonic_light(design: Path, *, network: str, seed: int = 0) -> dict[str, Any]:
    """Light per MAC of `network` on the photonic design, per laser-sizing and receiver
    variant (`designs.photonic.reference.figures`)."""
    from imcsim.designs.photonic.reference import figures

    return figures(_arch(design, None), (network,), seed)[network]


def accuracy(design: Path, *, network: str, arch: dict[str, Any] | None = None,
             seeds: int = 1, samples: int | None = None, snr_db: float | None = None,
             votes: int = 1, drift_time_s: float = 0.0, seed: int = 0,
             overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """`network` (a shipped name or a graph file with its labelled set beside it) on the
    design with the dotted-key overrides `arch` (e.g. converter bits), as `imcsim run
    --accuracy` computes it (`snr_db`, `votes`, `drift_time_s`, the first `samples`):
    `reference` (the exact path) and `simulated`, the mean over `seeds` runs seeded
    seed, seed + 1, ... (with their min and max)."""
    from imcsim.accuracy import evaluate
    from imcsim.errors import UsageError
    from imcsim.shipped import resolve_network

    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise UsageError(f"accuracy probe: seeds must be an integer >= 1, got {seeds!r}",
                         key="seeds")
    hardware = _arch(design, {**(arch or {}), **(overrides or {})})
    path = str(resolve_network(network))
    runs = [evaluate(hardware, path, seed=seed + k, samples=samples, snr_db=snr_db,
                     votes=votes, drift_time_s=drift_time_s) for k in range(seeds)]
    simulated = [r["simulated"] for r in runs]
    return {"reference": runs[0]["reference"], "simulated": float(np.mean(simulated)),
            "simulated_min": min(simulated), "simulated_max": max(simulated),
            "samples": runs[0]["samples"], "seeds": seeds}


PROBES: dict[str, tuple[Probe, bool]] = {  # name: (function, takes the design's config)
    "compare": (compare, True), "run": (run, True), "network": (network, False),
    "sparsity_ratio": (sparsity_ratio, True), "circuit": (circuit, False),
    "pcm_programming": (pcm_programming, False),
    "photonic_repeats": (photonic_repeats, True),
    "photonic_light": (photonic_light, True),
    "accuracy": (accuracy, True),
}
