"""Arch configs: loading a YAML into the typed arch of its design kind (no costs computed
here). `Arch` is what every kind's arch has (`kind`, `name`, `clock`, `source`)."""

from imcsim.arch.loader import build_arch, load_arch
from imcsim.designs.base import ArchBase as Arch

__all__ = ["Arch", "build_arch", "load_arch"]
