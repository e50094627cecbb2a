"""Shipped data by name: designs, networks and sweep specs resolve from any directory
(an existing path always wins), the wheel carries them, and `imcsim list` names them."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from imcsim import shipped

ROOT = Path(__file__).resolve().parents[1]
DESIGNS = {"aid_sram", "fat", "fat_sram", "fat_transformer", "parapim", "pcm", "photonic",
           "reram_transformer",
           "reram_ramp"}


def test_the_designs_and_the_data_are_shipped():
    assert set(shipped.designs()) == DESIGNS
    assert {"fat_sparsity", "fat_assumptions"} <= set(shipped.sweeps())
    assert {"digits_cnn_twn", "resnet20_ternary", "digits_lstm_q4",
            "digits_cnn_noisy"} <= set(shipped.networks())
    assert shipped.circuit_file("aid.yaml").is_file()


def test_names_resolve_only_where_no_file_exists(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fat = shipped.designs()["fat"]
    for given in ("fat", "fat.yaml", "arch_configs/fat.yaml"):
        assert shipped.resolve_design(given) == fat
    assert shipped.resolve_design("elsewhere/fat.yaml") == Path("elsewhere/fat.yaml")
    assert shipped.resolve_design("nothing") == Path("nothing")
    (tmp_path / "fat.yaml").write_text("kind: bitserial\n")  # the user's own file wins
    assert shipped.resolve_design("fat.yaml") == Path("fat.yaml")
    assert shipped.resolve_network("resnet18") == "resnet18"  # a zoo name stays a name
    assert shipped.resolve_network("digits_cnn_twn") == shipped.networks()["digits_cnn_twn"]
    assert shipped.resolve_sweep("fat_sparsity") == shipped.sweeps()["fat_sparsity"]


def test_list_and_version_from_an_empty_directory(tmp_path):
    def imcsim(*args: str) -> str:
        return subprocess.run([sys.executable, "-m", "imcsim.cli", *args], cwd=tmp_path,
                              capture_output=True, text=True, check=True,
                              env={"PYTHONPATH": str(ROOT), "PATH": ""}).stdout

    listed = imcsim("list", "designs")
    assert all(name in listed for name in DESIGNS) and "[bitserial]" in listed
    assert imcsim("--version").startswith("imcsim ")


@pytest.mark.slow
def test_the_wheel_carries_the_shipped_data(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    str(ROOT), "-w", str(tmp_path)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("imcsim-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in DESIGNS:
        assert f"imcsim/data/arch_configs/{name}.yaml" in names
    for rel in ("arch_configs/circuits/aid.yaml", "workloads/sweeps/fat_sparsity.yaml",
                "workloads/digits/digits_cnn_twn.npz", "workloads/digits/test_split.npz",
                "workloads/digits_analog/digits_lstm_q4.npz",
                "workloads/digits_analog/test_split.npz",
                "workloads/resnet20_ternary.npz"):
        assert f"imcsim/data/{rel}" in names, rel
