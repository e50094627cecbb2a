"""Arch configs: YAML schema, loading and validation (no costs computed here)."""

from imcsim.arch.loader import load_arch
from imcsim.arch.schema import Arch

__all__ = ["Arch", "load_arch"]
