"""Converter energy per conversion from a figure of merit (FoM).

Two survey FoMs (B. Murmann, "ADC Performance Survey 1997-2025", github.com/bmurmann/
ADC-survey; the presets and how they were read are in arch_configs/circuits/
converter_fom.yaml):

- Walden FoM, energy per conversion step (fJ/conversion-step):
      F_W = P / (2^ENOB f_s)            ->   E_conv = P / f_s = F_W * 2^ENOB;
- Schreier FoM (dB), with SNDR = 6.02 ENOB + 1.76 dB and a Nyquist bandwidth f_s / 2:
      F_S = SNDR + 10 log10((f_s / 2) / P)   ->   E_conv = 10^((SNDR - F_S) / 10) / 2.

Both are stated at the converter's effective resolution ENOB; a converter given without
one is taken at its nominal resolution N (an ideal quantizer's ENOB), which overstates
the energy of a real one by 2^(N - ENOB) under Walden's law. Changing the resolution
therefore changes the energy consistently: x2 per bit (Walden), x4 per bit (Schreier).
"""

from __future__ import annotations

from typing import Any

_FJ_TO_PJ = 1e-3
_J_TO_PJ = 1e12


def sndr_db(enob: float) -> float:
    """SNDR of an ideal quantizer of `enob` bits with a full-scale sine (dB)."""
    return 6.02 * enob + 1.76


def conversion_energy_pj(fom: Any, enob: float) -> float:
    """Energy of one conversion (pJ) at `enob` effective bits, from a `ConverterFom`
    (exactly one of `walden_fj_per_step`, `schreier_db` is set)."""
    if fom.walden_fj_per_step is not None:
        return float(fom.walden_fj_per_step * 2.0 ** enob * _FJ_TO_PJ)
    return float(10.0 ** ((sndr_db(enob) - fom.schreier_db) / 10.0) / 2.0 * _J_TO_PJ)


def energy_per_step_fj(energy_pj: float, enob: float) -> float:
    """The Walden FoM a converter of this energy and resolution has (fJ/conversion-step)."""
    return energy_pj / 2.0 ** enob / _FJ_TO_PJ
