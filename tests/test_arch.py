"""Arch YAML loading and validation: every error names the file and the key path."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from imcsim.arch import load_arch
from imcsim.errors import ConfigError
from tests.conftest import ARCH


@pytest.mark.parametrize("name", ["fat.yaml", "parapim.yaml", "fat_sram.yaml"])
def test_shipped_configs_load(name):
    arch = load_arch(ARCH / name)
    assert arch.subarrays == arch.chip.banks * arch.chip.subarrays_per_bank
    assert arch.source.endswith(name)


def _variant(tmp_path: Path, edit) -> Path:
    raw = yaml.safe_load((ARCH / "fat.yaml").read_text())
    edit(raw)
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_arch(path)
    return info.value


def test_malformed_yaml(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("chip: {rows: 512\nclock: [")
    err = _error(path)
    assert str(path) in str(err) and "malformed YAML" in str(err)


def test_unknown_key(tmp_path):
    err = _error(_variant(tmp_path, lambda r: r["chip"].update(rowz=5)))
    assert err.key == "chip.rowz" and "variant.yaml" in str(err)


def test_negative_rows(tmp_path):
    err = _error(_variant(tmp_path, lambda r: r["chip"].update(rows=-512)))
    assert err.key == "chip.rows" and "> 0" in str(err)


def test_unknown_sense_amp_kind(tmp_path):
    err = _error(_variant(tmp_path, lambda r: r["sense_amp"].update(kind="magic")))
    assert err.key == "sense_amp.kind" and "magic" in str(err)


def test_wrong_type(tmp_path):
    err = _error(_variant(tmp_path, lambda r: r["controller"].update(
        sparse_addition_control="yes")))
    assert err.key == "controller.sparse_addition_control"


def test_missing_key(tmp_path):
    err = _error(_variant(tmp_path, lambda r: r["chip"].pop("columns")))
    assert err.key == "chip.columns" and "missing" in str(err)


def test_missing_file(tmp_path):
    err = _error(tmp_path / "nope.yaml")
    assert "not found" in str(err)


def test_overrides_apply_and_validate():
    arch = load_arch(ARCH / "fat.yaml", {"chip.rows": 1024, "mapping.objective": "time"})
    assert arch.chip.rows == 1024 and arch.mapping.objective == "time"
    with pytest.raises(ConfigError) as info:
        load_arch(ARCH / "fat.yaml", {"chip.rowz": 3})
    assert info.value.key == "chip.rowz"


def test_yaml11_exponent_is_a_number():
    assert load_arch(ARCH / "fat.yaml").clock.frequency_hz == 1e9


def test_too_few_rows_is_a_config_error(fat, resnet20):
    from imcsim.arch import load_arch as la
    from imcsim.simulate import simulate

    tiny = la(ARCH / "fat.yaml", {"chip.rows": 20})
    with pytest.raises(ConfigError) as info:
        simulate(tiny, resnet20)
    assert info.value.key == "chip.rows"


@pytest.mark.parametrize("off", ["mapping.balance_channels",
                                 "controller.sparse_addition_control"])
def test_cut_channels_needs_the_counts(off):
    with pytest.raises(ConfigError) as info:
        load_arch(ARCH / "fat.yaml", {off: False})
    assert info.value.key == "mapping.cut_channels" and "fat.yaml" in str(info.value)
    assert load_arch(ARCH / "fat.yaml", {off: False, "mapping.cut_channels": False})
