"""Discrete-event engine (simpy, plus an exact array solver for stream phases): phases,
shared resources, job record."""

from imcsim.engine.core import EngineResult, JobRecord, Phase, Step, run
from imcsim.engine.stream import StreamPhase

__all__ = ["EngineResult", "JobRecord", "Phase", "Step", "StreamPhase", "run"]
