"""Progress bars for long runs (sweeps, big networks), on stderr only.

`progress` wraps tqdm, but only when it is asked for *and* stderr is a terminal: in a
pipe, a CI log or a test the iterable is returned as it is, so nothing but the
documents a user scripts against is ever written. tqdm is imported only when a bar is
drawn.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def bar_wanted(enabled: bool) -> bool:
    """True when a bar should be drawn: enabled and stderr is an interactive terminal."""
    if not enabled:
        return False
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, OSError):  # closed or detached stream
        return False


def progress(iterable: Iterable[T], total: int | None = None, desc: str = "",
             enabled: bool = True, *, unit: str = "it", initial: int = 0) -> Iterator[T]:
    """Iterate over `iterable`, drawing a tqdm bar on stderr when `bar_wanted(enabled)`.

    `total` is the number of items expected (for the bar's length), `desc` its label,
    `initial` items already done before this iteration (e.g. resumed sweep points).
    """
    if not bar_wanted(enabled):
        return iter(iterable)
    from tqdm import tqdm

    bar_total = None if total is None else total + initial
    return iter(tqdm(iterable, total=bar_total, desc=desc, unit=unit, initial=initial,
                     file=sys.stderr, dynamic_ncols=True, leave=True))
