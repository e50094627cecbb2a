"""The arch schema of a photonic design: the global clock and a `photonic` section
(`imcsim.circuits.photonic_params`: core geometry and count, laser, losses, detector,
energies, phase shifters, noise, per-layer repeats, MLG)."""

from __future__ import annotations

from dataclasses import dataclass

from imcsim.circuits.photonic_params import PhotonicParams
from imcsim.designs.base import ArchBase


@dataclass(frozen=True, kw_only=True)
class PhotonicArch(ArchBase):
    """Identical photonic tensor cores fed by a laser, with DACs, detectors and ADCs."""

    photonic: PhotonicParams
