"""Discrete-event engine (simpy, plus an exact array solver for stream phases): resources
with roles, phases, the job record."""

from imcsim.engine.core import run
from imcsim.engine.types import (
    EngineResult,
    JobRecord,
    Phase,
    Resource,
    Step,
    StreamPhase,
)

__all__ = ["EngineResult", "JobRecord", "Phase", "Resource", "Step", "StreamPhase", "run"]
