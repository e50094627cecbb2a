"""Parameter dataclasses of the analog circuit and device models, and their YAML loader.

One circuit YAML (``arch_configs/circuits/*.yaml``) maps onto one top-level dataclass:
`AidParams` (discharge-based SRAM multiplier), `NlAdcParams` (in-memory nonlinear ramp
ADC), `PcmParams` (PCM device model), `AdcStudyParams` (SAR/flash/ramp ADCs). Loading goes
through the arch loader's `build_section` (unknown keys, types, ``gt``/``min``/``choices``),
then `_post_*` checks of what metadata cannot say (lists, cross-field ranges). Every
failure is a `ConfigError` naming the file and the dotted key. The numbers and their
sources live in the YAML files, never here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from imcsim.circuits import adc_kinds
from imcsim.config.fields import inline_or_file, non_negative, one_of, positive
from imcsim.config.sections import build_section, set_dotted
from imcsim.config.yaml_file import read_yaml as read_mapping
from imcsim.errors import ConfigError
from imcsim.shipped import circuit_file
from imcsim.tech.device_params import PcmParams, ReramParams, check_pcm, check_reram

ADC_KINDS = tuple(adc_kinds.ADC_KINDS)  # "sar", "flash", "ramp"
DEVICE_LAWS = ("square", "linear", "alpha_power")
WL_DACS = ("root", "linear")
NL_FUNCTIONS = ("sigmoid", "tanh", "table")
MAX_ADC_BITS = 16



# ----------------------------------------------------------------------------- ADC
@dataclass(frozen=True, kw_only=True)
class ConverterFom:
    """A converter figure of merit (circuits/converter_fom.py): exactly one of them."""

    walden_fj_per_step: float | None = positive(default=None, at_most=1e9)  # fJ/conv-step
    schreier_db: float | None = positive(default=None, at_most=300.0)  # dB
    source: str = ""


def check_fom(fom: ConverterFom, source: str) -> None:
    """Exactly one figure of merit (keys relative to the section)."""
    given = [name for name in ("walden_fj_per_step", "schreier_db")
             if getattr(fom, name) is not None]
    if len(given) != 1:
        raise ConfigError("give exactly one of walden_fj_per_step, schreier_db",
                          source=source, key="walden_fj_per_step")


@dataclass(frozen=True, kw_only=True)
class AdcParams:
    """One ADC. Voltages in V, energies in pJ per event, areas in um^2.

    Energy per conversion: from a figure of merit (`fom`, at `enob` effective bits,
    default `bits`), or from the component energies (decisions, steps, static): one of
    the two."""

    kind: str = one_of(ADC_KINDS)
    bits: int = positive()
    clock_hz: float = positive()  # the ADC's own clock
    full_scale_v: float | None = positive(default=None)  # None: set by the enclosing circuit
    fom: ConverterFom | None = inline_or_file(check=check_fom, default=None)  # or "file#preset"
    enob: float | None = positive(default=None)  # effective bits the FoM applies to; None: bits
    comparator_energy_pj: float | None = non_negative(default=None)  # one comparator decision
    step_energy_pj: float | None = non_negative(default=None)  # one clock step: cap-DAC / counter
    static_energy_pj: float | None = non_negative(default=None)  # per conversion; None: 0
    comparator_area_um2: float = non_negative()
    element_area_um2: float = non_negative()  # SAR unit cap, flash ladder resistor, ramp counter bit
    logic_area_um2: float = non_negative(default=0.0)
    noise_sigma_v: float = non_negative(default=0.0)  # dynamic input-referred noise per conversion
    comparator_offset_sigma_v: float = non_negative(default=0.0)  # static, per comparator
    unit_mismatch: float = non_negative(default=0.0)  # relative sigma of one unit element
    gain: float | None = positive(default=None)  # open-loop gain of the input buffer; None = ideal
    inl_lsb: list[float] | None = None  # measured INL per transition k = 1 .. 2^N - 1
    dnl_lsb: list[float] | None = None  # measured DNL per inner code k = 1 .. 2^N - 2


@dataclass(frozen=True, kw_only=True)
class AdcStudyParams:
    """The ADCs compared by ``imcsim circuit adc``; each section's kind must match its key."""

    global_clock_hz: float = positive()
    sar: AdcParams | None = None
    flash: AdcParams | None = None
    ramp: AdcParams | None = None
    source: str = ""


# ----------------------------------------------------------------------------- AID
@dataclass(frozen=True, kw_only=True)
class AidDevice:
    law: str = one_of(DEVICE_LAWS, default="square")  # I = (k/2) (V_WL - V_th)^alpha
    alpha: float = positive(default=2.0)  # used by law alpha_power only
    vth_v: float = positive()
    vth_sigma_v: float = non_negative()  # Monte Carlo V_th mismatch per access transistor
    read_current_ua: float = positive()  # at V_WL = VDD and nominal V_th (fixes k)


@dataclass(frozen=True, kw_only=True)
class AidArray:
    bitline_cap_ff: float = positive()
    wordline_cap_ff: float = non_negative()
    unit_time_ps: float = positive()  # T0: bit j discharges for 2^j T0


@dataclass(frozen=True, kw_only=True)
class AidDac:
    bits: int = positive(at_most=16)  # width N of operand A (input code x)
    kind: str = one_of(WL_DACS, default="root")  # the design whose energy is reported
    linear_floor_v: float | None = non_negative(default=None)  # V_WL(0) of the linear DAC; None = V_th
    zero_code_off: bool = False  # code 0 leaves the word line low (0 V) instead of V_WL(0)
    energy_pj: float = non_negative()  # per conversion


@dataclass(frozen=True, kw_only=True)
class AidStudy:
    """What `imcsim circuit aid` sweeps beside the one-seed result (circuits/aid_study.py)."""

    seeds: int = positive(default=30, at_most=10_000)  # SNR gain distribution: seeds 0..n-1
    sensitivity_seeds: int = positive(default=10, at_most=10_000)  # per sensitivity point
    vth_sigma_v: list[float] | None = None  # mismatch values to sweep (V)
    alpha: list[float] | None = None  # alpha-power law exponents to sweep (2 = square law)


@dataclass(frozen=True, kw_only=True)
class AidParams:
    vdd_v: float = positive()
    weight_bits: int = positive(at_most=16)  # width of operand B (cells of the row)
    device: AidDevice
    array: AidArray
    dac: AidDac
    adc: AdcParams
    accumulate_energy_pj: float = non_negative()
    trials: int = positive(default=200, at_most=10 ** 6)  # Monte Carlo instances
    study: AidStudy = dataclasses.field(default_factory=AidStudy)
    source: str = ""


# ----------------------------------------------------------------------------- NL-ADC
@dataclass(frozen=True, kw_only=True)
class NlAdcParams:
    function: str = one_of(NL_FUNCTIONS)
    bits: int = positive()
    domain_min: float  # MAC range (in MAC units) that the ramp spans
    domain_max: float
    table_x: list[float] | None = None  # function "table": breakpoints, strictly increasing
    table_y: list[float] | None = None  # monotone values at the breakpoints
    v_read_v: float = positive()
    comparator_offset_sigma_ua: float = non_negative(default=0.0)  # static; breaks ratiometry
    eval_points: int = positive(default=4096, at_most=10 ** 7)
    calibration_points: int = positive(default=512, at_most=10 ** 6)
    device: ReramParams
    source: str = ""


# ----------------------------------------------------------------------------- loading
T = TypeVar("T")


def read_yaml(path: str | Path) -> tuple[dict, str]:
    """Parse a circuit YAML into a mapping; errors name the file (and line)."""
    return read_mapping(path), str(path)


def from_dict(cls: type[T], raw: dict, source: str = "<dict>") -> T:
    """Validate a mapping against `cls` (one of the top-level dataclasses above)."""
    obj = build_section(cls, raw, source, "")
    obj = dataclasses.replace(obj, source=source)
    _POST[cls](obj, source)
    return obj


def load_params(cls: type[T], path: str | Path,
                overrides: dict[str, Any] | None = None) -> T:
    """Read `path`, apply dotted-key `overrides` (e.g. {"device.vth_sigma_v": 0.02}),
    validate against `cls`."""
    raw, source = read_yaml(path)
    for dotted, value in (overrides or {}).items():
        set_dotted(raw, dotted, value, source)
    return from_dict(cls, raw, source)


def shipped(name: str) -> Path:
    """A shipped circuit YAML, e.g. ``shipped("aid.yaml")``."""
    return circuit_file(name)


def load_aid(path: str | Path | None = None,
             overrides: dict[str, Any] | None = None) -> AidParams:
    return load_params(AidParams, path or shipped("aid.yaml"), overrides)


def load_nl_adc(path: str | Path | None = None,
                overrides: dict[str, Any] | None = None) -> NlAdcParams:
    return load_params(NlAdcParams, path or shipped("nl_adc.yaml"), overrides)


def load_pcm(path: str | Path | None = None,
             overrides: dict[str, Any] | None = None) -> PcmParams:
    return load_params(PcmParams, path or shipped("pcm.yaml"), overrides)


def load_adc_study(path: str | Path | None = None,
                   overrides: dict[str, Any] | None = None) -> AdcStudyParams:
    return load_params(AdcStudyParams, path or shipped("adc.yaml"), overrides)


# ----------------------------------------------------------------------------- post checks
def _fail(message: str, source: str, key: str) -> None:
    raise ConfigError(message, source=source, key=key)


def _number_list(value: Any, source: str, key: str, length: int | None = None) -> list[float]:
    if not isinstance(value, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        _fail("expected a list of numbers", source, key)
    if length is not None and len(value) != length:
        _fail(f"expected {length} entries, got {len(value)}", source, key)
    return [float(v) for v in value]


def check_adc(p: AdcParams, source: str, prefix: str = "") -> None:
    def key(name: str) -> str:
        return f"{prefix}.{name}" if prefix else name

    if p.bits > MAX_ADC_BITS:
        _fail(f"must be <= {MAX_ADC_BITS}, got {p.bits}", source, key("bits"))
    n = 2 ** p.bits
    if p.inl_lsb is not None and p.dnl_lsb is not None:
        _fail("give inl_lsb or dnl_lsb, not both", source, key("dnl_lsb"))
    if p.inl_lsb is not None:
        _number_list(p.inl_lsb, source, key("inl_lsb"), n - 1)
    if p.dnl_lsb is not None:
        dnl = _number_list(p.dnl_lsb, source, key("dnl_lsb"), n - 2)
        if min(dnl, default=0.0) < -1.0:
            _fail("a DNL below -1 LSB is a negative code width", source, key("dnl_lsb"))
    if (p.inl_lsb is not None or p.dnl_lsb is not None) and p.unit_mismatch > 0:
        _fail("a measured INL/DNL table replaces the unit-mismatch model; set one",
              source, key("unit_mismatch"))
    parts = ("comparator_energy_pj", "step_energy_pj", "static_energy_pj")
    if p.fom is not None:
        for name in parts:
            if getattr(p, name) is not None:
                _fail("the figure of merit (fom) sets the conversion energy; remove it",
                      source, key(name))
        if p.enob is not None and p.enob > p.bits:
            _fail(f"must be <= bits ({p.bits}), got {p.enob}", source, key("enob"))
    else:
        if p.enob is not None:
            _fail("enob applies to a figure of merit (fom); give one or remove it",
                  source, key("enob"))
        for name in parts[:2]:
            if getattr(p, name) is None:
                _fail("missing required key (give it, with step_energy_pj, or a figure of "
                      "merit: fom)", source, key(name))



def _post_adc_study(p: AdcStudyParams, source: str) -> None:
    for name in ADC_KINDS:
        sec = getattr(p, name)
        if sec is None:
            continue
        if sec.kind != name:
            _fail(f"section {name} must have kind {name}, got {sec.kind}", source, f"{name}.kind")
        if sec.full_scale_v is None:
            _fail("missing required key", source, f"{name}.full_scale_v")
        check_adc(sec, source, name)
    if not any(getattr(p, name) for name in ADC_KINDS):
        _fail(f"give at least one of {', '.join(ADC_KINDS)}", source, ADC_KINDS[0])


def check_aid(p: AidParams, source: str) -> None:
    check_adc(p.adc, source, "adc")
    if p.device.vth_v >= p.vdd_v:
        _fail("V_th must be below VDD", source, "device.vth_v")
    floor = p.dac.linear_floor_v
    if floor is not None and floor >= p.vdd_v:
        _fail("must be below vdd_v", source, "dac.linear_floor_v")
    for name, top in (("vth_sigma_v", p.vdd_v), ("alpha", 4.0)):
        values = getattr(p.study, name)
        if values is not None:
            numbers = _number_list(values, source, f"study.{name}")
            if not numbers or not all(0 < v <= top for v in numbers):
                _fail(f"expected a non-empty list of numbers in (0, {top:g}]", source,
                      f"study.{name}")


def check_nl_adc(p: NlAdcParams, source: str) -> None:
    check_reram(p.device, source, "device")
    if p.bits > 12:
        _fail(f"must be <= 12, got {p.bits}", source, "bits")
    if not p.domain_min < p.domain_max:
        _fail("domain_min must be below domain_max", source, "domain_max")
    if p.function == "table":
        for name in ("table_x", "table_y"):
            if getattr(p, name) is None:
                _fail("function table needs table_x and table_y", source, name)
        xs = _number_list(p.table_x, source, "table_x")
        ys = _number_list(p.table_y, source, "table_y", len(xs))
        if len(xs) < 2 or any(b <= a for a, b in zip(xs, xs[1:], strict=False)):
            _fail("needs >= 2 strictly increasing breakpoints", source, "table_x")
        steps = [b - a for a, b in zip(ys, ys[1:], strict=False)]
        if not (all(s >= 0 for s in steps) or all(s <= 0 for s in steps)) or ys[0] == ys[-1]:
            _fail("the table must be monotone and not constant", source, "table_y")


_POST: dict[type, Callable[[Any, str], None]] = {
    AidParams: check_aid,
    NlAdcParams: check_nl_adc,
    PcmParams: check_pcm,
    AdcStudyParams: _post_adc_study,
}
