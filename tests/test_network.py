"""Network level: FAT vs ParaPIM figures EMERGE from SA costs, zero skipping, mapping and
data movement. No network-level figure is written in code or config."""

from __future__ import annotations

import json
import re

import pytest

from imcsim.arch import load_arch
from imcsim.comparison import compare
from imcsim.simulate import simulate
from imcsim.workload.loader import load_network
from tests.conftest import ARCH, ROOT


def test_no_network_figure_in_code_or_config():
    pattern = re.compile(r"10\.02|12\.19")
    files = list((ROOT / "imcsim").rglob("*.py")) + list(ARCH.rglob("*.yaml"))
    assert files
    offenders = [str(p) for p in files if pattern.search(p.read_text())]
    assert offenders == []


@pytest.fixture(scope="module")
def baseline_compare(fat, parapim, resnet18_80):
    return compare(simulate(fat, resnet18_80), simulate(parapim, resnet18_80))


@pytest.mark.parametrize("override", [
    {"mapping.kind": "input_stationary"},
    {"mapping.broadcast_activations": False},
    {"bus.bits_per_cycle": 32},
    {"buffer.read_energy_pj_per_bit": 1.0},
])
def test_mapping_and_data_movement_move_the_figures(override, parapim, resnet18_80,
                                                    baseline_compare):
    design = load_arch(ARCH / "fat.yaml", override)
    cmp = compare(simulate(design, resnet18_80), simulate(parapim, resnet18_80))
    moved = [abs(cmp[k] / baseline_compare[k] - 1) for k in ("speedup", "energy_efficiency")]
    assert max(moved) > 0.005, (override, moved)


def test_energy_objective_costs_leakage_too(resnet18_80):
    """The search's energy counts the chip's leakage over the estimated time, so the
    "energy" objective does not pick slow tilings that leak more than they save."""
    by = {obj: simulate(load_arch(ARCH / "fat.yaml", {"mapping.objective": obj}), resnet18_80)
          for obj in ("time", "energy", "edp")}
    assert by["energy"].energy_j < min(by["time"].energy_j, by["edp"].energy_j)


@pytest.mark.parametrize("sparsity", [0.45, 0.6, 0.7])
def test_the_law_holds_at_other_sparsities(sparsity, fat, parapim):
    """speedup ~ SA speedup / (1 - s) and energy efficiency ~ SA energy ratio / (1 - s):
    zero skipping times the SA gain, less FAT's fixed data-movement overheads, which grow
    in relative terms as FAT's compute shrinks (so the factor stays a little below 1)."""
    net = load_network("resnet18", sparsity=sparsity, seed=3)
    cmp = compare(simulate(fat, net), simulate(parapim, net))
    sa = cmp["details"]["sa_level"]
    speed_factor = cmp["speedup"] / (sa["speedup"] / (1 - sparsity))
    energy_factor = cmp["energy_efficiency"] / (sa["energy_efficiency"] / (1 - sparsity))
    assert 0.90 <= speed_factor <= 1.03
    assert 0.88 <= energy_factor <= 1.03


def test_energy_efficiency_is_speedup_times_power_efficiency(baseline_compare):
    c = baseline_compare
    assert c["energy_efficiency"] == pytest.approx(c["speedup"] * c["power_efficiency"])


def test_decomposition_multiplies_to_the_network_figures(baseline_compare):
    """The factors come from the two runs and multiply to the totals; the zero-skipping
    factor is the issued-addition ratio (1 / (1 - 0.8) with layer-wise top-k), the SA
    factor the one-addition ratio, and FAT's extra work per addition is what costs it."""
    c = baseline_compare
    d = c["details"]["decomposition"]
    speed, energy = d["speedup"], d["energy_efficiency"]
    assert c["speedup"] == pytest.approx(
        speed["sa_level"] * speed["additions"] * speed["other_work"] * speed["scheduling"]
        * speed["chip"], rel=1e-9)
    assert c["energy_efficiency"] == pytest.approx(
        energy["sa_level"] * energy["additions"] * energy["other_energy"], rel=1e-9)
    assert speed["sa_level"] == pytest.approx(c["details"]["sa_level"]["speedup"])
    assert energy["sa_level"] == pytest.approx(
        c["details"]["sa_level"]["energy_efficiency"])
    assert speed["additions"] == pytest.approx(5.0, rel=0.01)
    assert energy["additions"] == pytest.approx(5.0, rel=0.01)
    assert speed["other_work"] < 1 and energy["other_energy"] < 1
    fat_loads = d["design"]["work_per_add_cycle"]["load"]
    assert fat_loads > 10 * d["baseline"]["work_per_add_cycle"]["load"]


def test_parapim_does_not_skip_zeros(parapim):
    lo = simulate(parapim, load_network("resnet20", sparsity=0.2, seed=0))
    hi = simulate(parapim, load_network("resnet20", sparsity=0.9, seed=0))
    assert lo.cycles == hi.cycles
    assert all("skipped" not in la.details for la in hi.layers)  # no zero skipping


def test_fat_skips_exactly_the_zero_weights(fat, resnet20):
    import numpy as np

    res = simulate(fat, resnet20)
    for layer, lr in zip(resnet20.layers, res.layers, strict=True):
        zeros = layer.weight_count - int(np.count_nonzero(layer.weights))
        tiles = lr.details["mapping"]["tiles"]
        assert lr.details["skipped"] == zeros * tiles
        # every nonzero weight is issued once per tile (reduction adds come on top)
        assert lr.details["adds"] >= int(np.count_nonzero(layer.weights)) * tiles


def test_fat_faster_with_more_zeros(fat):
    a = simulate(fat, load_network("resnet20", sparsity=0.3, seed=0))
    b = simulate(fat, load_network("resnet20", sparsity=0.8, seed=0))
    assert b.cycles < a.cycles and b.energy_j < a.energy_j


def test_deterministic_report(fat):
    net1 = load_network("resnet20", sparsity=0.5, seed=7)
    net2 = load_network("resnet20", sparsity=0.5, seed=7)
    d1 = json.dumps(simulate(fat, net1).to_dict(), sort_keys=True)
    d2 = json.dumps(simulate(fat, net2).to_dict(), sort_keys=True)
    assert d1 == d2


def test_energy_breakdown_sums_and_is_positive(fat, resnet20):
    res = simulate(fat, resnet20)
    assert res.energy_j == pytest.approx(sum(res.energy_breakdown_j.values()))
    for key in ("array", "sense_amplifiers", "buffers", "interconnect", "leakage"):
        assert res.energy_breakdown_j[key] > 0
    assert 0 < res.utilisation <= 1
    assert res.cycles == sum(la.cycles for la in res.layers)
