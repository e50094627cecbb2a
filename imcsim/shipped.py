"""Where the shipped configs (`arch_configs/`) are: the working directory's, the source
tree's (an editable install), or the copy a regular install puts under
`<prefix>/share/imcsim/arch_configs` (setup.cfg `data_files`)."""

from __future__ import annotations

import sys
from pathlib import Path

SOURCE_TREE = Path(__file__).resolve().parent.parent / "arch_configs"
INSTALLED = Path(sys.prefix) / "share" / "imcsim" / "arch_configs"


def shipped_config(relative: str | Path, prefer_cwd: bool = True) -> Path:
    """The shipped file `arch_configs/<relative>`: ./arch_configs first (if
    `prefer_cwd`), then the source tree, then the installed copy; if none exists, the
    source-tree path (so that the error names a sensible file)."""
    places = ([Path("arch_configs")] if prefer_cwd else []) + [SOURCE_TREE, INSTALLED]
    for base in places:
        if (base / relative).exists():
            return base / relative
    return SOURCE_TREE / relative
