"""Optical link budget of a photonic core: the loss from one laser to one detector.

Worst-case path from one laser to one detector, all terms in dB:

MZI mesh (Shen et al., Nat. Photonics 11, 441 (2017): W = U S V^H, each unitary a
rectangular Clements mesh, Optica 3, 1460 (2016)), R rows x C cols, L wavelengths::

    IL = coupler + [10 log10 C + excess * ceil(log2 C)]      (1 laser -> C modulators)
       + modulator_mzi + ER penalty
       + (C + 1 + R) * mzi                                    (V^H depth C, S, U depth R)
       + 10 log10 R                                           (mesh fan-out, see below)
       + 0 * crossing                                         (planar mesh: no crossings)
       + [L > 1] * 2 * ring_drop                              (WDM mux + demux)
       + waveguide_db_per_cm * (routing + (C + 1 + R) * pitch)

Microring weight bank (broadcast-and-weight, Tait et al., Sci. Rep. 7, 7430 (2017)),
one wavelength per input (L = C)::

    IL = coupler + modulator_ring + (C - 1) * ring_through    (own modulator, pass the others)
       + ER penalty
       + [10 log10 R + excess * ceil(log2 R)]                 (broadcast to R banks)
       + (C - 1) * ring_through + ring_drop                   (weight bank of the row)
       + (R - 1) * crossing                                   (bank outputs to edge detectors)
       + waveguide_db_per_cm * (routing + 2 C * pitch)

The mesh fan-out term puts both kinds on the same footing: a unitary spreads each input
over the R outputs (the rows of U have unit norm, so |U_ij|^2 averages 1/R), so a
full-scale weight brings a detector 1/R of an input's power, as the ring bank's 1:R
broadcast splitter does. Without it an MZI mesh would look R times cheaper in light.

Extinction ratio penalty (finite ER r = 10^(ER_dB/10) shrinks the signal swing)::

    ER penalty = 10 log10((r + 1) / (r - 1))   dB

The laser's power is the detector power a layer needs times this loss
(`photonic_sizing`: from the noise model, or the receiver-sensitivity rule)::

    P_laser,optical = P_detector,channel * 10^(IL / 10)     per laser
    n_lasers        = L (microring: C; MZI mesh: the parallel wavelengths)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from imcsim.circuits.photonic_params import PhotonicParams


def db_to_linear(db: float) -> float:
    return 10.0 ** (db / 10.0)


def extinction_penalty_db(extinction_ratio_db: float) -> float:
    """10 log10((r + 1) / (r - 1)), r = 10^(ER/10): power penalty of a finite ER."""
    r = db_to_linear(extinction_ratio_db)
    return 10.0 * math.log10((r + 1.0) / (r - 1.0))


def splitter_db(fanout: int, excess_db: float) -> float:
    """Ideal 1:N split (10 log10 N) plus the excess loss of each 1x2 stage of the tree."""
    if fanout <= 1:
        return 0.0
    return 10.0 * math.log10(fanout) + excess_db * math.ceil(math.log2(fanout))


@dataclass(frozen=True)
class LinkBudget:
    terms_db: dict[str, float]  # each contribution to the worst-case path loss
    waveguide_cm: float
    n_lasers: int

    @property
    def total_db(self) -> float:
        return sum(self.terms_db.values())

    @property
    def loss_linear(self) -> float:
        """10^(IL/10): laser power per unit of detector power, per channel."""
        return db_to_linear(self.total_db)


def mesh_depth(p: PhotonicParams) -> int:
    """Devices along a path: MZIs of the SVD mesh, or rings of modulator bus + weight bank."""
    c = p.core
    return c.cols + 1 + c.rows if c.kind == "mzi_mesh" else 2 * c.cols


def loss_terms(p: PhotonicParams) -> tuple[dict[str, float], float]:
    """Path loss terms (dB) and the waveguide length (cm) of the worst-case path."""
    c, lo = p.core, p.losses
    length_cm = p.layout.routing_cm + mesh_depth(p) * p.layout.device_pitch_um * 1e-4
    er = extinction_penalty_db(lo.extinction_ratio_db)
    if c.kind == "mzi_mesh":
        terms = {
            "coupler": lo.coupler_db,
            "splitter": splitter_db(c.cols, lo.splitter_excess_db),
            "modulator": lo.modulator_mzi_db,
            "extinction_penalty": er,
            "mesh": (c.cols + 1 + c.rows) * lo.mzi_db,
            "mesh_fanout": 10.0 * math.log10(c.rows),
            "crossings": 0.0,
            "wdm": 2.0 * lo.ring_drop_db if c.wavelengths > 1 else 0.0,
            "waveguide": lo.waveguide_db_per_cm * length_cm,
        }
    else:
        terms = {
            "coupler": lo.coupler_db,
            "modulator": lo.modulator_ring_db + (c.cols - 1) * lo.ring_through_db,
            "extinction_penalty": er,
            "splitter": splitter_db(c.rows, lo.splitter_excess_db),
            "rings": (c.cols - 1) * lo.ring_through_db + lo.ring_drop_db,
            "crossings": (c.rows - 1) * lo.crossing_db,
            "waveguide": lo.waveguide_db_per_cm * length_cm,
        }
    return terms, length_cm


def link_budget(p: PhotonicParams) -> LinkBudget:
    terms, length_cm = loss_terms(p)
    return LinkBudget(terms, length_cm, p.core.wavelengths)


def phase_shifters(p: PhotonicParams) -> int:
    """Weight-setting phase shifters of the core, all rewritten at each reprogramming.

    MZI mesh: 2 per MZI (internal theta, external phi); U has R(R-1)/2 MZIs, V has
    C(C-1)/2, S min(R, C). Microring bank: one heater/actuator per weight ring, R*C.
    """
    r, c = p.core.rows, p.core.cols
    if p.core.kind == "mzi_mesh":
        return 2 * (r * (r - 1) // 2 + c * (c - 1) // 2 + min(r, c))
    return r * c


def vectors_per_symbol(p: PhotonicParams) -> int:
    """Input vectors processed per symbol: WDM-parallel vectors in an MZI mesh, else 1."""
    return p.core.wavelengths if p.core.kind == "mzi_mesh" else 1
