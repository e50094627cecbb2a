"""Work pieces: what each item runs once a partition may cut a unit between two items.

A unit (one output channel of one segment) is normally run whole by one item. When
`mapping.cut_channels` lets the partition end an item inside a unit, the unit becomes
pieces: each takes a contiguous range of the part's fan-in positions, cut right after
the k-th addition the controller issues for that channel (its k-th nonzero weight in a
sparse design, its k-th weight in a dense one). Each piece starts from the zero row and
reads out its own partial sum; the reduction phase adds the pieces of a channel.

    unit u, part [0, P):  w = 0 + 0 - 0 + | + 0 - 0 0 +       cut after k = 3 additions
                          piece 1 [0, c)  | piece 2 [c, P)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Pieces:
    """Pieces in item order; item i runs pieces bounds[i]:bounds[i + 1]."""

    unit: np.ndarray
    lo: np.ndarray  # fan-in range [lo, hi) within the unit's part
    hi: np.ndarray
    adds: np.ndarray  # additions issued for the piece
    bounds: np.ndarray

    @property
    def whole(self) -> bool:
        return len(self.unit) == 0 or bool(np.all(np.diff(self.unit) > 0))


def make_pieces(first: np.ndarray, taken: np.ndarray, unit_adds: np.ndarray,
                part_size: np.ndarray, cut_position) -> Pieces:
    """Pieces of a partition given as each item's first unit and the additions of it
    earlier items took (`partition.min_makespan_cut`, ending with (units, 0)).

    unit_adds: additions of each whole unit; part_size: fan-in positions of its part;
    cut_position(units, k): the fan-in offsets right after the units' k-th additions.
    """
    n = len(unit_adds)
    if not np.any(taken):  # whole units
        units = np.arange(n, dtype=np.int64)
        return Pieces(units, np.zeros(n, dtype=np.int64), part_size.astype(np.int64),
                      unit_adds, np.asarray(first, dtype=np.int64))
    is_cut = taken[:-1] > 0
    cut_unit, cut_k = first[:-1][is_cut], taken[:-1][is_cut]
    key_unit = np.concatenate([np.arange(n, dtype=np.int64), cut_unit])
    key_k = np.concatenate([np.zeros(n, dtype=np.int64), cut_k])
    order = np.lexsort((key_k, key_unit))
    unit, k_lo = key_unit[order], key_k[order]
    same_next = np.append(unit[1:] == unit[:-1], False)
    k_hi = np.where(same_next, np.append(k_lo[1:], 0), unit_adds[unit])
    lo = np.zeros(len(unit), dtype=np.int64)
    at_cut = k_lo > 0
    if np.any(at_cut):
        lo[at_cut] = cut_position(unit[at_cut], k_lo[at_cut])
    hi = np.where(same_next, np.append(lo[1:], 0), part_size[unit]).astype(np.int64)
    stride = int(unit_adds.max(initial=0)) + 1
    bounds = np.searchsorted(unit * stride + k_lo, first * stride + taken)
    bounds[-1] = len(unit)
    return Pieces(unit, lo, hi, (k_hi - k_lo).astype(unit_adds.dtype), bounds)
