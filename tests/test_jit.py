"""The compiled kernel: a run imports no numba; the first functional run after install
says it compiles the executor's kernel, later runs load it from the cache, and the cache
survives a new modification time of an unchanged source file (numba keys it on content)."""

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
            [sys.executable, "-m", "imcsim.cli", "run", "--arch", "fat", "--net", "resnet20",
             "--functional", "--functional-layers", "1"],
            cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stderr

    assert "compiling 1 kernel once" in run()
    assert "compiling" not in run()
    kernel = ROOT / "imcsim" / "circuits" / "executor.py"
    stat = kernel.stat()
    os.utime(kernel, (stat.st_atime, stat.st_mtime + 3600))  # same bytes, new mtime
    try:
        assert "compiling" not in run()
    finally:
        os.utime(kernel, (stat.st_atime, stat.st_mtime))


def test_a_run_imports_no_numba(tmp_path):
    code = ("import sys; from imcsim.cli import main; "
            "main(['run', '--arch', 'fat', '--net', 'resnet20', '--quiet']); "
            "print('numba' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"
