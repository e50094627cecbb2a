"""Shared fixtures: shipped configs and networks (loaded once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARCH = ROOT / "arch_configs"


@pytest.fixture(scope="session")
def fat():
    from imcsim.arch import load_arch

    return load_arch(ARCH / "fat.yaml")


@pytest.fixture(scope="session")
def parapim():
    from imcsim.arch import load_arch

    return load_arch(ARCH / "parapim.yaml")


@pytest.fixture(scope="session")
def resnet18_80():
    from imcsim.workload.loader import load_network

    return load_network("resnet18", sparsity=0.8, seed=0)


@pytest.fixture(scope="session")
def resnet20():
    from imcsim.workload.loader import load_network

    return load_network("resnet20", seed=0)
