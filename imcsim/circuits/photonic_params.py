"""Photonic tensor core parameters: the ``photonic`` YAML section, typed and validated.

The section is read with the config machinery (`imcsim.config.build_section`: unknown
keys, types, ``min``/``gt`` bounds, enumerations) and then checked across fields by
`validate_photonic`: wall-plug efficiency <= 1, one wavelength per input of a microring
bank, per-layer repeat counts K >= 1 and bits, a homodyne receiver only on a coherent
core, per-layer MLG ranks. The laser budget needs the link and noise models, so it is
checked in `photonic_sizing.check_laser_budget` (`build_photonic` and
`load_photonic_params` there do all of it). Every problem is a `ConfigError` naming
the file and the dotted key.

The meaning and source of each number lives in ``arch_configs/photonic.yaml``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imcsim.config.fields import non_negative, one_of, positive
from imcsim.config.sections import build_section
from imcsim.config.yaml_file import read_yaml
from imcsim.errors import ConfigError

CORE_KINDS = ("mzi_mesh", "microring_bank")
PHASE_SHIFTER_KINDS = ("thermal", "mems")
LASER_SIZING = ("noise", "sensitivity")  # photonic_sizing.py: from the noise model, or
#                                          the receiver-sensitivity rule of thumb
RECEIVERS = ("direct", "homodyne")  # photodiode + TIA, or balanced homodyne with an LO
PRECISION_OF = ("detection", "output")  # what must reach the required bits: each reading
#                                         (ADC input) or a layer's whole output
MAX_BITS = 32


@dataclass(frozen=True, kw_only=True)
class CoreGeometry:
    """Size and resolution of one core: a rows x cols weight matrix per programming."""

    kind: str = one_of(CORE_KINDS)
    rows: int = positive(at_most=4096)  # outputs: one (balanced) detector, TIA and ADC per row
    cols: int = positive(at_most=4096)  # inputs: one modulator and DAC per column
    wavelengths: int = positive(at_most=4096)  # microring: one per input; MZI mesh: parallel vectors
    modulation_ghz: float = positive()  # symbol rate: the core's own clock domain
    input_bits: int = positive(at_most=32)
    weight_bits: int = positive(at_most=32)
    output_bits: int = positive(at_most=32)  # ADC resolution; the laser is sized for 2^bits levels
    cores: int = positive(default=1, at_most=65536)  # identical cores on the chip (tiles are spread over them)


@dataclass(frozen=True, kw_only=True)
class Laser:
    wall_plug_efficiency: float = positive()  # optical out / electrical in, <= 1
    wavelength_nm: float = positive()
    max_optical_power_mw: float = positive()  # the budget: optical power one laser gives
    sizing: str = one_of(LASER_SIZING, default="noise")  # how the laser power is set


@dataclass(frozen=True, kw_only=True)
class Losses:
    """Insertion losses in dB (per device passed) and the modulator extinction ratio."""

    coupler_db: float = non_negative()  # fibre-to-chip
    modulator_mzi_db: float = non_negative()
    modulator_ring_db: float = non_negative()
    mzi_db: float = non_negative()  # one MZI of the weight mesh
    splitter_excess_db: float = non_negative()  # per 1x2 stage, on top of 3 dB
    crossing_db: float = non_negative()
    ring_through_db: float = non_negative()  # passing an off-resonance ring
    ring_drop_db: float = non_negative()  # dropped by an on-resonance ring
    waveguide_db_per_cm: float = non_negative()
    extinction_ratio_db: float = positive()


@dataclass(frozen=True, kw_only=True)
class Layout:
    device_pitch_um: float = positive()  # waveguide length per device along a path
    routing_cm: float = non_negative()  # fixed routing (couplers to core, core to detectors)


@dataclass(frozen=True, kw_only=True)
class Detector:
    sensitivity_dbm: float  # minimum detectable power at the symbol rate (sizing: sensitivity)
    responsivity_a_per_w: float = positive()
    tia_noise_pa_per_rthz: float = non_negative()  # input-referred current noise density
    receiver: str = one_of(RECEIVERS, default="direct")
    lo_power_mw: float = positive(default=1.0)  # homodyne: local oscillator per balanced pair


@dataclass(frozen=True, kw_only=True)
class Energy:
    modulator_mzi_fj_per_bit: float = non_negative()
    modulator_ring_fj_per_bit: float = non_negative()
    dac_pj_per_sample: float = non_negative()
    adc_pj_per_sample: float = non_negative()
    detector_tia_pj_per_sample: float = non_negative()
    dram_pj_per_bit: float = non_negative()  # weights (or MLG bases/coefficients)
    sram_pj_per_bit: float = non_negative()  # activations, partial sums, generated weights


@dataclass(frozen=True, kw_only=True)
class PhaseShifter:
    """The weight-setting phase shifters: time to settle after a reprogramming and power."""

    kind: str = one_of(PHASE_SHIFTER_KINDS)
    settle_ns: float = positive()
    hold_mw: float = non_negative()  # per shifter, while it holds a weight
    switch_pj: float = non_negative()  # per shifter per reprogramming (drive, excl. DAC)


@dataclass(frozen=True, kw_only=True)
class Noise:
    weight_noise_std: float = non_negative()  # per symbol, fraction of full-scale weight


@dataclass(frozen=True, kw_only=True)
class Precision:
    """Dynamic precision: each MVM repeated K times and averaged (Garg et al. 2023)."""

    default_repeats: int = positive(default=1, at_most=2 ** 20)
    per_layer: dict[str, int] = field(default_factory=dict)  # layer name -> K
    bits: float | None = positive(default=None, at_most=MAX_BITS)  # required ENOB of a
    #                                     layer's output (None: core.output_bits)
    per_layer_bits: dict[str, float] = field(default_factory=dict)  # layer name -> ENOB
    bits_of: str = one_of(PRECISION_OF, default="detection")


@dataclass(frozen=True, kw_only=True)
class MlgRanks:
    """Ranks of multi-level in situ generation; 0 (or too large to save) disables a level."""

    base_in: int = non_negative(default=0)  # intra-kernel rank (level 1)
    base_out: int = non_negative(default=0)  # cross-kernel rank (level 2)


@dataclass(frozen=True, kw_only=True)
class Mlg:
    enabled: bool = False
    base_in: int = non_negative(default=0)
    base_out: int = non_negative(default=0)
    param_bits: int = positive(default=8)  # bits of each stored basis/coefficient
    per_layer: dict[str, MlgRanks] = field(default_factory=dict)

    def ranks(self, layer_name: str) -> MlgRanks | None:
        """Ranks for `layer_name`, or None when generation is off."""
        if not self.enabled:
            return None
        return self.per_layer.get(layer_name, MlgRanks(base_in=self.base_in,
                                                       base_out=self.base_out))


@dataclass(frozen=True, kw_only=True)
class PhotonicParams:
    core: CoreGeometry
    laser: Laser
    losses: Losses
    layout: Layout
    detector: Detector
    energy: Energy
    phase_shifter: PhaseShifter
    noise: Noise
    precision: Precision = field(default_factory=Precision)
    mlg: Mlg = field(default_factory=Mlg)
    source: str = ""  # file it was read from (filled by the loader, not a YAML key)

    def repeats(self, layer_name: str) -> int:
        return self.precision.per_layer.get(layer_name, self.precision.default_repeats)

    def bits(self, layer_name: str | None = None) -> float:
        """The effective bits layer `layer_name`'s outputs must reach (noise sizing):
        ``precision.per_layer_bits``, else ``precision.bits``, else ``core.output_bits``."""
        default = self.precision.bits if self.precision.bits is not None \
            else float(self.core.output_bits)
        if layer_name is None:
            return float(default)
        return float(self.precision.per_layer_bits.get(layer_name, default))


def build_photonic_fields(raw: Any, source: str, prefix: str = "photonic") -> PhotonicParams:
    """Validate mapping `raw` (the section at key `prefix` of file `source`), field by
    field and across fields, but not the laser budget (`photonic_sizing.build_photonic`)."""
    params = build_section(PhotonicParams, raw, source, prefix)
    return validate_photonic(params, source, prefix)


def read_photonic_section(path: str | Path, key: str = "photonic") -> tuple[Any, str]:
    """The raw ``key`` section of YAML file `path`, and the file's name."""
    source = str(path)
    raw = read_yaml(path)
    if key not in raw:
        raise ConfigError("missing required section", source=source, key=key)
    return raw[key], source


def validate_photonic(p: PhotonicParams, source: str, prefix: str) -> PhotonicParams:
    """Cross-field checks the generic loader cannot express (all but the laser budget,
    `photonic_sizing.check_laser_budget`); returns the normalised params."""

    def err(key: str, msg: str) -> ConfigError:
        return ConfigError(msg, source=source, key=f"{prefix}.{key}" if prefix else key)

    if p.laser.wall_plug_efficiency > 1:
        raise err("laser.wall_plug_efficiency",
                  f"must be <= 1, got {p.laser.wall_plug_efficiency!r}")
    if p.core.kind == "microring_bank" and p.core.wavelengths != p.core.cols:
        raise err("core.wavelengths", f"a microring weight bank carries one input per "
                  f"wavelength: must equal core.cols = {p.core.cols}, got {p.core.wavelengths}")
    per_layer = p.precision.per_layer
    if per_layer is None:
        per_layer = {}
    if not isinstance(per_layer, dict):
        raise err("precision.per_layer", "expected a mapping of layer name to repeats K")
    for name, k in per_layer.items():
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise err(f"precision.per_layer.{name}", f"repeats K must be an integer >= 1, "
                      f"got {k!r}")
    per_bits = p.precision.per_layer_bits if p.precision.per_layer_bits is not None else {}
    if not isinstance(per_bits, dict):
        raise err("precision.per_layer_bits", "expected a mapping of layer name to bits")
    for name, b in per_bits.items():
        if isinstance(b, bool) or not isinstance(b, (int, float)) or not 0 < b <= MAX_BITS:
            raise err(f"precision.per_layer_bits.{name}", f"bits must be a number in "
                      f"(0, {MAX_BITS}], got {b!r}")
    if p.detector.receiver == "homodyne" and p.core.kind != "mzi_mesh":
        raise err("detector.receiver", "a homodyne receiver beats one local oscillator "
                  "with the coherent sum of the inputs: it needs a coherent core "
                  f"(core.kind: mzi_mesh), got core.kind {p.core.kind}")
    mlg_raw = p.mlg.per_layer if p.mlg.per_layer is not None else {}
    if not isinstance(mlg_raw, dict):
        raise err("mlg.per_layer", "expected a mapping of layer name to {base_in, base_out}")
    path = f"{prefix}.mlg.per_layer" if prefix else "mlg.per_layer"
    mlg_layers = {str(name): v if isinstance(v, MlgRanks)
                  else build_section(MlgRanks, v, source, f"{path}.{name}")
                  for name, v in mlg_raw.items()}
    p = dataclasses.replace(
        p, precision=dataclasses.replace(p.precision, per_layer=dict(per_layer),
                                         per_layer_bits={str(k): float(v)
                                                         for k, v in per_bits.items()}),
        mlg=dataclasses.replace(p.mlg, per_layer=mlg_layers), source=source)
    return p
