"""The light a matrix product needs: detector current, laser and local-oscillator power.

Two rules (``photonic.laser.sizing``):

sensitivity (the rule of thumb of public photonic simulators' device libraries,
published-figures.md "Photonic cores"): one full-scale channel brings its detector
2^output_bits times the detector sensitivity, whatever the layer::

    P_ch = 10^(S_PD_dBm / 10) mW * 2^output_bits

S_PD is the power an on-off-keyed receiver needs for a bit-error rate (photonic.yaml:
Q = 7 at 5 pA/rtHz), a digital link's figure, not an analog precision.

noise (the default): the least light at which a product of fan-in N reaches the effective
bits it needs (``precision.per_layer_bits`` / ``precision.bits``, default
``core.output_bits``, the ADC's resolution), by the noise equations of `photonic_noise`
at full scale averaged over K repeats. The bits refer to one detection
(``precision.bits_of: detection``: the n = min(N, C) inputs it sums, against the ADC's
full scale of m = C inputs, so the analog noise is no larger than the quantisation noise
of the ADC that converts it), or to the whole output (``output``: n = m = N)::

    V(I_1) / K = sigma_req^2,   V(I_1) = a / I_1 + t / I_1^2 + w,
    sigma_req  = 2m / (sqrt(12) 2^bits)                    (the ENOB equation)

a: shot noise (direct: 2 q B n; homodyne: n_chunks C q B / 2 (1 + i_n^2 / (2 q R P_LO)),
its thermal term included), t: the direct receiver's thermal noise n_chunks i_n^2 B,
w: weight noise sigma_w^2 n; n_chunks = ceil(n / C). With D = K sigma_req^2 - w and
u = 1 / I_1::

    t u^2 + a u - D = 0   ->   u = 2D / (a + sqrt(a^2 + 4 t D))

(the positive root, written without cancellation). Shot-limited (t = w = 0) I_1 = a / D
grows 4x per extra bit; thermal-limited I_1 = sqrt(t / D) 2x. D <= 0 means weight noise
alone exceeds the requirement and no light reaches it: a ConfigError (more repeats K
average the weight noise, or ask fewer bits).

Both rules: P_ch = I_1 / responsivity; per laser P_ch 10^(IL/10) optical (the link budget,
`photonic_link`), / wall-plug efficiency electrical; n_lasers = L. A homodyne receiver adds
one local oscillator of ``detector.lo_power_mw`` per balanced pair: R rows x the vectors
of a symbol (the WDM wavelengths of an MZI mesh).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imcsim.circuits.photonic_link import (
    LinkBudget,
    db_to_linear,
    link_budget,
    vectors_per_symbol,
)
from imcsim.circuits.photonic_noise import (
    check_repeats,
    chunks_of,
    enob_of_sigma,
    full_scale_terms,
    noise_coefficients,
    required_sigma,
    sigma_at,
)
from imcsim.circuits.photonic_params import (
    PhotonicParams,
    build_photonic_fields,
    read_photonic_section,
)
from imcsim.errors import ConfigError


def sensitivity_detector_mw(p: PhotonicParams) -> float:
    """The sensitivity rule's full-scale power per channel at the detector (mW)."""
    return db_to_linear(p.detector.sensitivity_dbm) * 2.0 ** p.core.output_bits


def solve_unit_current(a: float, t: float, d: float) -> float:
    """I_1 with a / I_1 + t / I_1^2 = d (d > 0): 1 / u, u = 2d / (a + sqrt(a^2 + 4td))."""
    u = 2.0 * d / (a + math.sqrt(a * a + 4.0 * t * d))
    return 1.0 / u


def reference(p: PhotonicParams, fan_in: int) -> tuple[int, int]:
    """(inputs, range) of the reading the required bits refer to: one detection
    (``precision.bits_of: detection``): the min(N, C) inputs it sums, against the ADC's
    full scale of C inputs (the core's geometry: a narrower layer uses part of it); or the
    whole output (``output``): N inputs against N."""
    if p.precision.bits_of == "output":
        return fan_in, fan_in
    return min(fan_in, p.core.cols), p.core.cols


def precision_terms(p: PhotonicParams, fan_in: int, unit_current_a: float) -> dict[str, float]:
    """Variance by source (K = 1) of the reading the requirement refers to, at full scale."""
    return full_scale_terms(p, reference(p, fan_in)[0], unit_current_a)


def achieved_bits(p: PhotonicParams, fan_in: int, repeats: int, unit_current_a: float) -> float:
    """ENOB of the reading the requirement refers to (one detection, or the whole output)
    after K repeats at detector current I_1: equals the required bits under noise sizing."""
    n_in, n_range = reference(p, fan_in)
    return enob_of_sigma(n_range, sigma_at(p, n_in, repeats, unit_current_a))


def noise_sized_current(p: PhotonicParams, fan_in: int, bits: float, repeats: int = 1,
                        layer: str | None = None, key: str | None = None,
                        prefix: str = "photonic") -> float:
    """I_1 (A) at which a product of fan-in N reaches `bits` effective bits after K
    repeats. Unreachable bits are a ConfigError naming `key` (default: the layer's
    ``precision.per_layer`` entry, else ``precision``)."""
    k = check_repeats(repeats)
    n_in, n_range = reference(p, fan_in)
    coef = noise_coefficients(p, n_in, n_in, chunks_of(p, n_in))
    by_power = {0: 0.0, 1: 0.0, 2: 0.0}
    for c, n in coef.values():
        by_power[n] += float(c)
    d = k * required_sigma(n_range, bits) ** 2 - by_power[0]
    if d <= 0:
        w_enob = enob_of_sigma(n_range, math.sqrt(by_power[0] / k))
        where = f"layer {layer} (fan-in {fan_in})" if layer else f"fan-in {fan_in}"
        if key is None:
            key = f"precision.per_layer.{layer}" if layer else "precision"
        remedy = "raise K"
        if key.startswith("mlg"):
            where = f"the MLG weight generation of layer {layer} (fan-in {fan_in})"
            remedy = "raise the MLG ranks"
        raise ConfigError(
            f"{where} needs {bits:g} effective bits but weight noise alone "
            f"(noise.weight_noise_std {p.noise.weight_noise_std:g}) limits it to "
            f"{w_enob:.2f} bits at K = {k} repeats: no laser power reaches it; {remedy} or "
            f"lower precision.bits", source=p.source or None,
            key=f"{prefix}.{key}" if prefix else key)
    return solve_unit_current(by_power[1], by_power[2], d)


def unit_current(p: PhotonicParams, fan_in: int, repeats: int = 1, bits: float | None = None,
                 layer: str | None = None, key: str | None = None) -> float:
    """I_1 (A) of a product of fan-in N with K repeats under ``laser.sizing``; `bits`
    defaults to the layer's requirement (`PhotonicParams.bits`); `key` names the setting
    to blame when the bits cannot be reached (`noise_sized_current`)."""
    if p.laser.sizing == "sensitivity":
        return p.detector.responsivity_a_per_w * sensitivity_detector_mw(p) * 1e-3
    need = p.bits(layer) if bits is None else bits
    return noise_sized_current(p, fan_in, need, repeats, layer, key)


@dataclass(frozen=True)
class Light:
    """The light of one matrix product on the core (powers in mW, while it computes)."""

    rule: str  # laser.sizing
    bits: float | None  # effective bits required (noise sizing), None for sensitivity
    unit_current_a: float  # I_1: one full-scale channel's photocurrent
    detector_mw_per_channel: float
    laser_optical_mw_per_laser: float
    n_lasers: int
    lo_optical_mw: float  # all local oscillators of the core (homodyne), else 0
    wall_plug_efficiency: float

    @property
    def laser_optical_mw(self) -> float:
        return self.laser_optical_mw_per_laser * self.n_lasers

    @property
    def laser_electrical_mw(self) -> float:
        return self.laser_optical_mw / self.wall_plug_efficiency

    @property
    def lo_electrical_mw(self) -> float:
        return self.lo_optical_mw / self.wall_plug_efficiency


def light(p: PhotonicParams, link: LinkBudget, fan_in: int, repeats: int = 1,
          bits: float | None = None, layer: str | None = None,
          key: str | None = None) -> Light:
    """The light a product of fan-in N with K repeats gets (see the module docstring)."""
    i1 = unit_current(p, fan_in, repeats, bits, layer, key)
    det_mw = i1 / p.detector.responsivity_a_per_w * 1e3
    lo = 0.0
    if p.detector.receiver == "homodyne":
        lo = p.core.rows * vectors_per_symbol(p) * p.detector.lo_power_mw
    need = None if p.laser.sizing == "sensitivity" else (p.bits(layer) if bits is None
                                                         else bits)
    return Light(p.laser.sizing, need, i1, det_mw, det_mw * link.loss_linear, link.n_lasers,
                 lo, p.laser.wall_plug_efficiency)


def check_budget(p: PhotonicParams, lit: Light, link: LinkBudget, what: str,
                 prefix: str = "photonic") -> None:
    """A product that needs more optical power per laser than ``laser.max_optical_power_mw``
    is refused, with required and available power in the message."""
    have = p.laser.max_optical_power_mw
    if lit.laser_optical_mw_per_laser <= have:
        return
    c = p.core
    rule = (f"sensitivity {p.detector.sensitivity_dbm:g} dBm, x 2^{c.output_bits}"
            if lit.rule == "sensitivity" else f"{lit.bits:g} effective bits by the noise model")
    raise ConfigError(
        f"{c.rows}x{c.cols} {c.kind} ({what}) needs {lit.laser_optical_mw_per_laser:.4g} mW "
        f"optical per laser (link loss {link.total_db:.2f} dB, {rule}) but the laser budget "
        f"laser.max_optical_power_mw is {have:g} mW; shrink core.rows/cols, lower the bits "
        f"or losses, or raise the budget", source=p.source or None,
        key=f"{prefix}.core" if prefix else "core")


def check_laser_budget(p: PhotonicParams, source: str, prefix: str = "photonic") -> None:
    """The budget at load time: the sensitivity rule's fixed laser, or under noise sizing
    a product filling one tile (fan-in = core.cols) at the default bits and repeats
    (each layer is checked again when planned)."""
    if source and not p.source:
        p = dataclasses.replace(p, source=source)
    link = link_budget(p)
    fan_in = p.core.cols
    what = f"{p.core.output_bits} output bits" if p.laser.sizing == "sensitivity" \
        else f"a full tile, fan-in {fan_in}"
    lit = light(p, link, fan_in, p.precision.default_repeats)
    check_budget(p, lit, link, what, prefix)


def enob(p: PhotonicParams, fan_in: int, repeats: int = 1,
         unit_current_a: float | None = None, layer: str | None = None) -> float:
    """ENOB of an output of fan-in N after K repeats at detector current I_1 (None: the
    current the layer gets under ``laser.sizing`` for these K repeats)."""
    p = getattr(p, "params", p)
    i1 = unit_current(p, fan_in, repeats, layer=layer) if unit_current_a is None \
        else unit_current_a
    return enob_of_sigma(fan_in, sigma_at(p, fan_in, repeats, i1))


def full_scale_sigma(p: PhotonicParams, fan_in: int, repeats: int = 1,
                     unit_current_a: float | None = None, layer: str | None = None) -> float:
    """Noise std of an output of fan-in N at full scale after K repeats (I_1 as `enob`)."""
    p = getattr(p, "params", p)
    i1 = unit_current(p, fan_in, repeats, layer=layer) if unit_current_a is None \
        else unit_current_a
    return sigma_at(p, fan_in, repeats, i1)


def repeats_for_bits(p: PhotonicParams, fan_in: int, bits: float,
                     unit_current_a: float | None = None) -> int:
    """Smallest K with ENOB(K) >= bits at a fixed detector current I_1 (None: the current
    of a single reading, K = 1): K = ceil(4^(bits - ENOB(1)))."""
    p = getattr(p, "params", p)
    i1 = unit_current(p, fan_in, 1) if unit_current_a is None else unit_current_a
    k = max(1, math.ceil(4.0 ** (bits - enob(p, fan_in, 1, i1)) - 1e-9))
    while enob(p, fan_in, k, i1) < bits:
        k += 1
    return k


def build_photonic(raw: Any, source: str, prefix: str = "photonic") -> PhotonicParams:
    """Validate mapping `raw` (the section at key `prefix` of file `source`) completely."""
    params = build_photonic_fields(raw, source, prefix)
    check_laser_budget(params, source, prefix)
    return params


def load_photonic_params(path: str | Path, key: str = "photonic") -> PhotonicParams:
    """Read the ``key`` section of YAML file `path` and validate it completely."""
    raw, source = read_photonic_section(path, key)
    return build_photonic(raw, source, key)
