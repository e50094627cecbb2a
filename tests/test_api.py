"""The Python API: the README's example runs as written, and the CLI gives the same
figures."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import imcsim
from imcsim.cli import main

ROOT = Path(__file__).resolve().parents[1]


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Python API"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_runs():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(readme_example(), "README.md", "exec"), {})  # noqa: S102
    printed = out.getvalue()
    assert "speedup" in printed and "energy efficiency" in printed


def test_the_api_and_the_cli_agree(capsys):
    result = imcsim.run("fat", "resnet20", sparsity=0.8)
    assert main(["run", "--arch", "fat", "--net", "resnet20", "--sparsity", "0.8",
                 "--format", "json", "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out) == result.to_dict()
    assert result.totals["cycles"] == sum(la.cycles for la in result.layers)


def test_import_imcsim_stays_light():
    import subprocess
    import sys

    code = ("import sys, imcsim; "
            "assert not {'numpy', 'numba', 'simpy', 'matplotlib'} & set(sys.modules), "
            "sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'numba')); "
            "assert callable(imcsim.run) and 'imcsim.app' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_the_api_functions_survive_importing_the_modules():
    import imcsim.app  # noqa: F401
    import imcsim.comparison  # noqa: F401

    assert callable(imcsim.compare) and callable(imcsim.run) and callable(imcsim.load_arch)
