"""Discrete-event engine (simpy): phases, shared resources, job record."""

from imcsim.engine.core import EngineResult, JobRecord, Phase, Step, run

__all__ = ["EngineResult", "JobRecord", "Phase", "Step", "run"]
