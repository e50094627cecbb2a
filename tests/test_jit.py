"""The compiled kernels: the first run after install says it compiles them, later runs
load them from the cache, and the cache survives a new modification time of an
unchanged source file (numba keys it on content)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_first_run_announces_compilation_and_the_cache_is_keyed_on_content(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NUMBA_CACHE_DIR": str(tmp_path / "nc")}

    def run() -> str:
        return subprocess.run(
            [sys.executable, "-m", "imcsim.cli", "run", "--arch", "fat", "--net", "resnet20"],
            cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stderr

    assert "compiling 3 kernels once" in run()
    assert "compiling" not in run()
    kernel = ROOT / "imcsim" / "designs" / "bitserial" / "mapping" / "partition.py"
    stat = kernel.stat()
    os.utime(kernel, (stat.st_atime, stat.st_mtime + 3600))  # same bytes, new mtime
    try:
        assert "compiling" not in run()
    finally:
        os.utime(kernel, (stat.st_atime, stat.st_mtime))
