"""Which activations a round of resident channels needs (sparse-aware loading).

With sparse addition control the controller knows every weight before it issues an
operation, so it also knows which fan-in positions of a part no channel of the resident
set adds (all their weights there are zero): those activations are not loaded. For a
round of channels C over the fan-in positions [f0, f1) of a part,

    loaded positions = #{ f in [f0, f1) : w[c, f] != 0 for some c in C }.

With independent weights of density d this is (f1 - f0) (1 - (1 - d)^|C|) on average,
the estimate the mapping search uses; the work items count it exactly from the weights.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _needed(mask, row0, row1, col0, col1):
    out = np.zeros(row0.shape[0], dtype=np.int64)
    for k in range(row0.shape[0]):
        count = 0
        for f in range(col0[k], col1[k]):
            for r in range(row0[k], row1[k]):
                if mask[r, f]:
                    count += 1
                    break
        out[k] = count
    return out


def needed_positions(mask: np.ndarray, row0: np.ndarray, row1: np.ndarray, col0: np.ndarray,
                     col1: np.ndarray) -> np.ndarray:
    """Per round k: fan-in positions in [col0, col1) where a row in [row0, row1) of the
    (channels, fan_in) nonzero `mask` is set."""
    return _needed(np.ascontiguousarray(mask, dtype=np.bool_),
                   *(np.ascontiguousarray(v, dtype=np.int64) for v in (row0, row1, col0, col1)))


def expected_fraction(density: float, channels: np.ndarray | float) -> np.ndarray | float:
    """Mean fraction of a part's positions a round of `channels` channels needs."""
    return 1.0 - (1.0 - density) ** np.asarray(channels, dtype=np.float64)


def round_bounds(first: np.ndarray, length: np.ndarray, per_round: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split channel ranges [first, first + length) into rounds of at most per_round
    channels: (owner range index, round start, round end) per round."""
    rounds = -(-length // per_round)
    owner = np.repeat(np.arange(len(first)), rounds)
    offset = np.arange(len(owner)) - np.repeat(np.cumsum(rounds) - rounds, rounds)
    start = first[owner] + offset * per_round[owner]
    end = np.minimum(start + per_round[owner], first[owner] + length[owner])
    return owner, start, end
