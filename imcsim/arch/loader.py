"""Load and validate an arch YAML into typed `Arch` sections.

Every problem becomes a `ConfigError` naming the file and the dotted key path:
malformed YAML, unknown keys, missing keys, wrong types, out-of-range numbers and
unknown enumeration values.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from pathlib import Path
from typing import Any

import yaml

from imcsim.arch.schema import ANALOG_SECTIONS, DIGITAL_SECTIONS, Arch
from imcsim.errors import ConfigError


def load_arch(path: str | Path, overrides: dict[str, Any] | None = None) -> Arch:
    """Read `path`, apply dotted-key `overrides` (e.g. {"chip.rows": 1024}), validate."""
    source = str(path)
    raw = read_yaml(path)
    for dotted, value in (overrides or {}).items():
        _set_dotted(raw, dotted, value, source)
    arch = build_section(Arch, raw, source, "")
    if arch.photonic is not None and arch.crossbar is not None:
        raise ConfigError("a design is photonic or analog, not both", source=source,
                          key="crossbar")
    if arch.photonic is not None:
        from imcsim.circuits.photonic_params import validate_photonic

        validate_photonic(arch.photonic, source, "photonic")
    elif arch.crossbar is not None:
        for name in ANALOG_SECTIONS:
            if getattr(arch, name) is None:
                raise ConfigError("missing required section (an analog design needs "
                                  f"{', '.join(ANALOG_SECTIONS)})", source=source, key=name)
        for name in set(DIGITAL_SECTIONS) - set(ANALOG_SECTIONS):
            if getattr(arch, name) is not None:
                raise ConfigError("section not used by an analog (crossbar) design",
                                  source=source, key=name)
        arch = dataclasses.replace(arch, crossbar=check_crossbar(arch.crossbar, source))
    else:
        for name in DIGITAL_SECTIONS:
            if getattr(arch, name) is None:
                raise ConfigError("missing required section (a digital design needs "
                                  f"{', '.join(DIGITAL_SECTIONS)}; a photonic one needs "
                                  "photonic; an analog one crossbar, buffer, bus)",
                                  source=source, key=name)
        if arch.mapping.cut_channels and not (arch.mapping.balance_channels
                                              and arch.controller.sparse_addition_control):
            raise ConfigError("cutting a channel between items needs "
                              "controller.sparse_addition_control and "
                              "mapping.balance_channels (the cut follows the channel's "
                              "nonzero weights)", source=source, key="mapping.cut_channels")
    return dataclasses.replace(arch, source=source)


def read_yaml(path: str | Path) -> dict:
    """The top-level mapping of YAML file `path` (ConfigError naming the file otherwise)."""
    source = str(path)
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise ConfigError("file not found", source=source) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=source) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ConfigError(f"malformed YAML{where}: {problem}", source=source) from None
    if not isinstance(raw, dict):
        raise ConfigError("top level must be a mapping of sections", source=source)
    return raw


def _set_dotted(raw: dict, dotted: str, value: Any, source: str) -> None:
    node = raw
    parts = dotted.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            raise ConfigError("no such section to override", source=source, key=dotted)
        node = child
    node[parts[-1]] = value  # an unknown key is then reported by validation


def build_section(cls: type, raw: Any, source: str, prefix: str) -> Any:
    """Validate mapping `raw` against dataclass `cls`, recursively."""
    if not isinstance(raw, dict):
        raise ConfigError(f"expected a mapping, got {type(raw).__name__}", source=source,
                          key=prefix or "<top>")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "source"}
    for key in raw:
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError(f"unknown key (known: {known})", source=source,
                              key=_join(prefix, str(key)))
    values = {}
    for name, fld in fields.items():
        path = _join(prefix, name)
        if name not in raw:
            has_default = (fld.default is not dataclasses.MISSING
                           or fld.default_factory is not dataclasses.MISSING)
            if has_default:
                continue
            raise ConfigError("missing required key", source=source, key=path)
        values[name] = _check_value(hints[name], fld, raw[name], source, path)
    return cls(**values)


def _check_value(hint: Any, fld: dataclasses.Field, value: Any, source: str, path: str) -> Any:
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        if value is None and type(None) in args:
            return None
        hint = next(a for a in args if a is not type(None))
    if dataclasses.is_dataclass(hint):
        return build_section(hint, value, source, path)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"expected true or false, got {value!r}", source=source, key=path)
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"expected a string, got {value!r}", source=source, key=path)
        choices = fld.metadata.get("choices")
        if choices and value not in choices:
            raise ConfigError(f"unknown value {value!r} (choose from {', '.join(choices)})",
                              source=source, key=path)
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"expected an integer, got {value!r}", source=source, key=path)
    elif hint is float:
        value = _yaml11_float(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"expected a number, got {value!r}", source=source, key=path)
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"expected a finite number, got {value!r}", source=source, key=path)
    if "gt" in fld.metadata and not value > fld.metadata["gt"]:
        raise ConfigError(f"must be > {fld.metadata['gt']}, got {value!r}", source=source, key=path)
    if "min" in fld.metadata and not value >= fld.metadata["min"]:
        raise ConfigError(f"must be >= {fld.metadata['min']}, got {value!r}", source=source,
                          key=path)
    return value


def _yaml11_float(value: Any) -> Any:
    """PyYAML (YAML 1.1) reads `1.0e9` (no exponent sign) as a string; accept it as a number."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


# ----------------------------------------------------------------------------- analog
def check_crossbar(xb: Any, source: str) -> Any:
    """Resolve the circuit keys of a `crossbar` section and check what each technology needs.

    reram: `adc`, `device` (ReramParams), `read_ns`, `v_read_v`, `dac_bits`, `dac.energy_pj`,
      `periphery.shift_add_energy_pj`; with `nl_adc` the ramp ADC computes the activation:
      then the device and V_read come from the NL-ADC file, the rows stay driven through
      the ramp (no `read_ns`, no sample-and-hold) and `adc` must be a ramp of the same bits.
    pcm: as reram without `nl_adc`; `read_ns` defaults to the device model's t_read.
    aid_sram: `aid` (AidParams) fixes the ADC, the word-line DAC (bits, energy), the read
      window and the accumulator energy, so those keys must not be repeated here.
    """
    from imcsim.circuits import analog_params as ap

    base = Path(source).parent
    tech = xb.technology

    def fail(message: str, key: str) -> None:
        raise ConfigError(message, source=source, key=f"crossbar.{key}")

    def given(key: str) -> bool:
        node: Any = xb
        for part in key.split("."):
            node = getattr(node, part)
        return node is not None

    def forbid(keys: tuple[str, ...], why: str) -> None:
        for key in keys:
            if given(key):
                fail(f"not used here ({why}); remove it", key)

    def need(keys: tuple[str, ...], why: str) -> None:
        for key in keys:
            if not given(key):
                fail(f"missing required key ({why})", key)

    adc = _circuit(xb.adc, ap.AdcParams, source, base, "crossbar.adc")
    nl = _circuit(xb.nl_adc, ap.NlAdcParams, source, base, "crossbar.nl_adc")
    aid = _circuit(xb.aid, ap.AidParams, source, base, "crossbar.aid")
    dev_cls = ap.PcmParams if tech == "pcm" else ap.ReramParams
    device = _circuit(xb.device, dev_cls, source, base, "crossbar.device")
    if tech == "aid_sram":
        need(("aid",), "the AID circuit file")
        forbid(("adc", "nl_adc", "device", "dac_bits", "read_ns", "v_read_v", "dac.energy_pj",
                "periphery.shift_add_energy_pj", "input_activity"),
               "the AID circuit file sets it")
        if xb.bits_per_cell != 1:
            fail("an AID word stores one bit per 6T cell; must be 1", "bits_per_cell")
        if xb.rows_per_read not in (None, 1):
            fail("the AID circuit converts one product per read; must be 1", "rows_per_read")
    else:
        forbid(("aid",), f"technology {tech}")
        need(("adc", "dac_bits", "weight_bits", "input_activity", "dac.energy_pj",
              "periphery.shift_add_energy_pj"), f"technology {tech}")
        if nl is not None:
            if tech != "reram":
                fail("the nonlinear ramp ADC is a ReRAM column; technology must be reram",
                     "nl_adc")
            forbid(("device", "v_read_v", "read_ns"), "the NL-ADC file sets the ReRAM device "
                   "and V_read, and the rows stay driven through the ramp")
            device = nl.device
            if adc.kind != "ramp" or adc.bits != nl.bits:
                fail(f"the NL-ADC is a {nl.bits}-bit ramp; adc must be kind ramp with "
                     f"{nl.bits} bits, got {adc.kind} with {adc.bits}", "adc")
            if xb.sample_and_hold:
                fail("the NL-ADC compares the live column current with the ramp; must be "
                     "false", "sample_and_hold")
        else:
            need(("device", "v_read_v"), f"technology {tech}")
            if tech == "reram":
                need(("read_ns",), "technology reram")
    rows_per_read = 1 if tech == "aid_sram" else (xb.rows_per_read or xb.rows)
    if rows_per_read > xb.rows:
        fail(f"must be <= rows ({xb.rows})", "rows_per_read")
    if not xb.differential and rows_per_read > 1:
        fail("sign-magnitude weights need one product per conversion (rows_per_read 1); "
             "summed rows need differential pairs", "differential")
    if xb.cols_per_adc > xb.cols:
        fail(f"must be <= cols ({xb.cols})", "cols_per_adc")
    if xb.input_activity is not None and xb.input_activity > 1:
        fail(f"must be <= 1, got {xb.input_activity}", "input_activity")
    weight_bits = xb.weight_bits or aid.weight_bits
    return dataclasses.replace(xb, adc=adc, nl_adc=nl, device=device, aid=aid,
                               weight_bits=weight_bits)


def _circuit(value: Any, cls: type, source: str, base: Path, key: str) -> Any:
    """An inline mapping, or "file.yaml[#section]" relative to the arch file, as `cls`."""
    if value is None:
        return None
    if isinstance(value, dict):
        return _typed_circuit(cls, value, source, key)
    if not isinstance(value, str):
        raise ConfigError("expected a mapping or a 'file.yaml[#section]' path", source=source,
                          key=key)
    file, _, section = value.partition("#")
    path = base / file
    if not path.is_file():
        raise ConfigError(f"circuit file {path} not found", source=source, key=key)
    raw = read_yaml(path)
    if section:
        if not isinstance(raw.get(section), dict):
            raise ConfigError(f"no section {section!r} in {path}", source=source, key=key)
        raw = raw[section]
    return _typed_circuit(cls, raw, str(path), section)


def _typed_circuit(cls: type, raw: dict, source: str, prefix: str) -> Any:
    """Validate like the circuit loader (analog_params), with errors keyed under `prefix`."""
    from imcsim.circuits import analog_params as ap

    try:
        if cls is ap.AdcParams:
            obj = build_section(cls, raw, source, "")
            ap.check_adc(obj, source, "")
        elif cls is ap.ReramParams:
            obj = build_section(cls, raw, source, "")
            ap.check_reram(obj, source, "")  # the ReRAM cell check of the NL-ADC file
        else:
            obj = ap.from_dict(cls, raw, source)
    except ConfigError as exc:
        if exc.source != source or not prefix:
            raise
        raise ConfigError(exc.bare_message, source=source,
                          key=_join(prefix, exc.key) if exc.key else prefix) from None
    return obj
