"""The golden regression figures: every shipped design on resnet18 and resnet20 (totals
and per-layer cycles and energy), accuracy on the digits networks, and the FAT vs ParaPIM
comparison at 80 % sparsity. `tests/test_golden.py` recomputes them and checks them.

Regenerate on purpose only (a change of model, with the reason in the commit message):

    python tests/golden/regenerate.py

Everything goes through the command line's JSON documents (`imcsim.cli.main`), the
interface that stays stable while the inside is rearranged.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "figures.json"
DESIGNS = ("fat", "fat_sram", "parapim", "aid_sram", "pcm", "photonic", "reram_ramp")
NETS = ("resnet18", "resnet20")
DIGITS = ("digits_cnn_twn", "digits_cnn_sparse", "digits_resnet20")
TOTAL_KEYS = ("cycles", "time_s", "energy_j", "area_mm2", "utilisation", "macs",
              "energy_breakdown_j", "area_breakdown_mm2")
LAYER_KEYS = ("name", "cycles", "energy_j", "utilisation", "energy_breakdown_j")
COMPARE_KEYS = ("speedup", "energy_efficiency", "power_efficiency", "area_efficiency")
COMPARE_DETAILS = ("sa_level", "decomposition")


def cli_json(*argv: str) -> dict[str, Any]:
    """The JSON document `imcsim argv --format json --quiet` prints."""
    from imcsim.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([*argv, "--format", "json", "--quiet"])
    if code != 0:
        raise RuntimeError(f"imcsim {' '.join(argv)} exited {code}")
    return json.loads(out.getvalue())


def arch(name: str) -> str:
    return str(ROOT / "arch_configs" / f"{name}.yaml")


def run_figures(design: str, net: str) -> dict[str, Any]:
    doc = cli_json("run", "--arch", arch(design), "--net", net)
    return {"total": {k: doc["total"][k] for k in TOTAL_KEYS},
            "layers": [{k: la[k] for k in LAYER_KEYS} for la in doc["layers"]]}


def accuracy_figures(design: str, net: str) -> dict[str, Any]:
    path = str(ROOT / "workloads" / "digits" / f"{net}.yaml")
    acc = cli_json("run", "--arch", arch(design), "--net", path, "--accuracy")["accuracy"]
    return {k: acc[k] for k in ("reference", "simulated", "samples")}


def compare_figures() -> dict[str, Any]:
    doc = cli_json("compare", "--arch", arch("fat"), "--baseline", arch("parapim"),
                   "--net", "resnet18", "--sparsity", "0.8")
    return {**{k: doc[k] for k in COMPARE_KEYS},
            **{k: doc["details"][k] for k in COMPARE_DETAILS}}


def collect() -> dict[str, Any]:
    return {
        "runs": {f"{d}/{n}": run_figures(d, n) for d in DESIGNS for n in NETS},
        "accuracy": {f"{d}/{n}": accuracy_figures(d, n) for d in DESIGNS for n in DIGITS},
        "compare_fat_parapim_s0.8": compare_figures(),
    }


def main() -> int:
    GOLDEN.write_text(json.dumps(collect(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
