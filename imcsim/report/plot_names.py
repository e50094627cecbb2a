"""Plot formats and the run's figure names, without the drawing code (`report.plots`):
what the CLI and the API check before a run, importable without loading the plotters."""

from __future__ import annotations

FORMATS = ("png", "svg", "pdf")
DEFAULT_FORMATS = ("png", "svg")
RUN_FIGURES = ("run_cycles", "run_energy", "run_utilisation", "utilisation_timeline")
