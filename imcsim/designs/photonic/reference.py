"""The photonic figures validation checks: optical energy per MAC of the shipped photonic
design on ResNet-18 and ResNet-50 with the laser sized by the receiver-sensitivity rule,
by the noise model (the shipped default), and with a shot-noise-limited balanced homodyne
receiver; against Garg et al.'s published figure (published-figures.md, "Photonic cores":
a shot-noise-limited homodyne optical network, ResNet-50, < 2 % accuracy loss).

Each variant is the shipped design with a few switches changed (`VARIANTS`: sizing rule,
receiver, core kind; no cost number), validated as a file would be. Per network and
variant (`network_figures`), in aJ per MAC of the network:

    optical    all light the lasers and local oscillators emit while computing
    lo         the local oscillators alone (homodyne)
    signal     optical - lo: the lasers that carry the inputs
    detector   the signal light reaching the detectors (optical without the link loss)

and the smallest and largest ENOB a layer's requirement reaches. The published figure is
compared with the homodyne detector figure under Garg's definition of precision (a
layer's whole output over its range, ``precision.bits_of: output``) at `OUTPUT_BITS`
(uniform over the layers: the model has no learned per-layer precision), and the
uniform bits at which that figure equals the published one (`bits_matching`) are given:
a figure that explains the gap, not a calibration (no parameter is set from it).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from imcsim.circuits.photonic import PhotonicCore, layer_cost
from imcsim.circuits.photonic_params import PhotonicParams, validate_photonic
from imcsim.circuits.photonic_sizing import check_laser_budget
from imcsim.designs.photonic.plan import light_per_mac
from imcsim.designs.photonic.schema import PhotonicArch
from imcsim.workload.layer import Network
from imcsim.workload.loader import load_network

HOMODYNE = {"laser.sizing": "noise", "core.kind": "mzi_mesh", "core.wavelengths": 1,
            "detector.receiver": "homodyne"}  # a coherent core (one wavelength, MZI mesh)
VARIANTS: dict[str, dict[str, Any]] = {
    "sensitivity": {"laser.sizing": "sensitivity"},
    "noise": {"laser.sizing": "noise"},
    "homodyne": HOMODYNE,
}
OUTPUT_BITS = (6.0, 7.0, 8.0)  # uniform output-referred bits bracketing the comparison
NETWORKS = ("resnet18", "resnet50")


def with_overrides(params: PhotonicParams, overrides: dict[str, Any]) -> PhotonicParams:
    """`params` with dotted keys of the ``photonic`` section replaced, validated again
    (cross-field checks and the laser budget) as a file with these values would be."""
    for dotted, value in overrides.items():
        params = _replace(params, dotted.split("."), value)
    params = validate_photonic(params, params.source, "photonic")
    check_laser_budget(params, params.source, "photonic")
    return params


def _replace(obj: Any, path: list[str], value: Any) -> Any:
    head, *rest = path
    new = _replace(getattr(obj, head), rest, value) if rest else value
    return dataclasses.replace(obj, **{head: new})


def network_figures(core: PhotonicCore, net: Network) -> dict[str, float]:
    """Light per MAC of `net` on `core` (aJ) and the range of the layers' ENOB."""
    costs = [layer_cost(layer, core) for layer in net.layers]
    light = light_per_mac(costs, net.total_macs)
    return {"optical_aj_per_mac": light["optical_aj_per_mac"],
            "lo_aj_per_mac": light["lo_aj_per_mac"],
            "signal_aj_per_mac": light["optical_aj_per_mac"] - light["lo_aj_per_mac"],
            "detector_aj_per_mac": light["detector_aj_per_mac"],
            "enob_reference_min": min(c["enob_reference"] for c in costs),
            "enob_reference_max": max(c["enob_reference"] for c in costs)}


def _core(arch: PhotonicArch, overrides: dict[str, Any]) -> PhotonicCore:
    return PhotonicCore.from_params(with_overrides(arch.photonic, overrides),
                                    arch.clock.frequency_hz)


def output_referred(bits: float) -> dict[str, Any]:
    """The homodyne variant with Garg's precision: each layer's output at `bits`."""
    return {**HOMODYNE, "precision.bits_of": "output", "precision.bits": float(bits)}


def bits_matching(arch: PhotonicArch, net: Network, aj_per_mac: float,
                  lo: float = 1.0, hi: float = max(OUTPUT_BITS)) -> float | None:
    """The uniform output-referred bits in [lo, hi] at which the homodyne detector figure
    of `net` equals `aj_per_mac` (bisection: the figure grows with the bits), to 0.01 bit;
    None when the figure at `lo` or `hi` does not bracket it."""
    def figure(bits: float) -> float:
        core = _core(arch, output_referred(bits))
        return network_figures(core, net)["detector_aj_per_mac"]

    if not figure(lo) <= aj_per_mac <= figure(hi):
        return None
    while hi - lo > 0.005:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if figure(mid) < aj_per_mac else (lo, mid)
    return round(0.5 * (lo + hi), 2)


def figures(arch: PhotonicArch, nets: tuple[str, ...] = NETWORKS, seed: int = 0,
            published: dict[str, float] | None = None) -> dict[str, Any]:
    """{net: {variant: network_figures}} for `VARIANTS` and the output-referred homodyne
    at `OUTPUT_BITS` (``homodyne_output_<b>b``); for a net with a figure in `published`
    ({net: aJ/MAC}, from the reference data: imcsim/reference/designs/photonic) also
    {"published_aj_per_mac", "bits_matching_published"}. `arch` is the photonic design
    (e.g. ``load_arch("photonic")``); networks are zoo names, weights seeded by `seed`."""
    out: dict[str, Any] = {}
    for name in nets:
        net = load_network(name, seed=seed)
        row: dict[str, Any] = {v: network_figures(_core(arch, ov), net)
                               for v, ov in VARIANTS.items()}
        for bits in OUTPUT_BITS:
            row[f"homodyne_output_{bits:g}b"] = network_figures(
                _core(arch, output_referred(bits)), net)
        if published and name in published:
            pub = float(published[name])
            row["published_aj_per_mac"] = pub
            row["bits_matching_published"] = bits_matching(arch, net, pub)
        out[name] = row
    return out
