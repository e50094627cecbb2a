"""Device technologies' parameters: ReRAM cells (conductance window, programming
variation, stuck-at faults) and PCM cells (programming noise, drift, 1/f read noise),
typed for the config machinery, with the checks across their fields. Conductances in uS."""

from __future__ import annotations

from dataclasses import dataclass

from imcsim.config.fields import non_negative, positive
from imcsim.errors import ConfigError


def _fail(message: str, source: str, key: str) -> None:
    raise ConfigError(message, source=source, key=key)


@dataclass(frozen=True, kw_only=True)
class ReramParams:
    """ReRAM cell: conductance window and programming non-idealities (conductances in uS)."""

    g_min_us: float = non_negative()  # OFF (HRS) conductance; stuck-at-OFF cells sit here
    g_max_us: float = positive()  # ON (LRS) conductance; stuck-at-ON cells sit here
    programming_sigma_us: float = non_negative(default=0.0)  # additive Gaussian
    lognormal_sigma: float = non_negative(default=0.0)  # std of ln G (multiplicative)
    stuck_off_rate: float = non_negative(default=0.0)
    stuck_on_rate: float = non_negative(default=0.0)


@dataclass(frozen=True, kw_only=True)
class PcmProgramming:
    c0: float  # sigma_prog = max(c0 + c1 g + c2 g^2, 0) uS
    c1: float
    c2: float
    clip_negative: bool = True


@dataclass(frozen=True, kw_only=True)
class ClippedLog:
    slope: float  # clip(slope ln g + intercept, min, max)
    intercept: float
    min: float = non_negative()
    max: float = non_negative()


@dataclass(frozen=True, kw_only=True)
class PcmDrift:
    t0_s: float = positive()
    mu: ClippedLog
    sigma: ClippedLog


@dataclass(frozen=True, kw_only=True)
class PcmReadNoise:
    q_coeff: float = non_negative()  # Q = min(q_coeff / g^q_exponent, q_max)
    q_exponent: float = non_negative()
    q_max: float = non_negative()
    t_read_s: float = positive()


@dataclass(frozen=True, kw_only=True)
class PcmParams:
    g_max_us: float = positive()
    programming: PcmProgramming
    drift: PcmDrift
    read_noise: PcmReadNoise
    source: str = ""


def check_reram(p: ReramParams, source: str, prefix: str) -> None:
    if p.g_min_us >= p.g_max_us:
        _fail("must be below g_max_us", source, f"{prefix}.g_min_us")
    for name in ("stuck_off_rate", "stuck_on_rate"):
        if getattr(p, name) > 1:
            _fail("a rate must be <= 1", source, f"{prefix}.{name}")
    if p.stuck_off_rate + p.stuck_on_rate > 1:
        _fail("stuck_off_rate + stuck_on_rate must be <= 1", source, f"{prefix}.stuck_on_rate")


def check_pcm(p: PcmParams, source: str) -> None:
    for name in ("mu", "sigma"):
        c = getattr(p.drift, name)
        if c.min > c.max:
            _fail("min must be <= max", source, f"drift.{name}.min")
