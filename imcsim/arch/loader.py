"""Load and validate an arch YAML: the `kind:` key names a design kind (a plug-in of
`imcsim.designs`), whose schema types every section and whose `check` runs the checks
across keys.

Every problem becomes a `ConfigError` naming the file and the dotted key path:
malformed YAML, a missing or unknown kind, unknown keys, missing keys, wrong types,
out-of-range numbers and unknown enumeration values.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from imcsim.config.sections import build_section, set_dotted
from imcsim.config.yaml_file import read_yaml
from imcsim.designs.base import ArchBase
from imcsim.designs.registry import design_kind, kind_names
from imcsim.errors import ConfigError


def load_arch(path: str | Path, overrides: dict[str, Any] | None = None) -> Any:
    """Read `path`, apply dotted-key `overrides` (e.g. {"chip.rows": 1024}), validate.
    Returns the design kind's arch dataclass (an `ArchBase`)."""
    source = str(path)
    raw = read_yaml(path)
    for dotted, value in (overrides or {}).items():
        set_dotted(raw, dotted, value, source)
    return build_arch(raw, source)


def build_arch(raw: dict[str, Any], source: str) -> ArchBase:
    """Validate the top-level mapping `raw` of file `source` as an arch."""
    if "kind" not in raw:
        raise ConfigError(f"missing required key (the design kind: one of "
                          f"{', '.join(kind_names())})", source=source, key="kind")
    kind = design_kind(raw["kind"], source=source, key="kind")
    arch = build_section(kind.schema, raw, source, "")
    return kind.check(dataclasses.replace(arch, source=source))
