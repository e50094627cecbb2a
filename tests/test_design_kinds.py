"""Design kinds are plug-ins: a kind registered from outside the package (here a toy
"ideal MAC array") loads from YAML, runs, reports, traces, plots and compares through the
shared code with no change to it; every shipped config names its kind first."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from imcsim import app
from imcsim.arch import load_arch
from imcsim.config.fields import non_negative, positive
from imcsim.designs.base import ArchBase
from imcsim.designs.protocol import DesignKind, LayerCosts, Plan, RunCosts
from imcsim.designs.registry import design_kind, kind_names, register, unregister
from imcsim.engine.types import COMPUTE, STEP_COMPUTE, Phase, Resource, Step
from imcsim.errors import ConfigError, UsageError

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True, kw_only=True)
class Array:
    units: int = positive()
    macs_per_cycle: int = positive()  # per unit: its lanes
    energy_pj_per_mac: float = non_negative()


@dataclass(frozen=True, kw_only=True)
class ToyArch(ArchBase):
    array: Array


class ToyKind(DesignKind):
    """Every layer split evenly over the units; a unit does macs_per_cycle MACs a cycle."""

    name = "toy_mac_array"
    summary = "an ideal MAC array (test plug-in)"
    schema = ToyArch
    lanes = "MAC lanes of a toy unit"

    def plan(self, arch, net, progress=False):
        a = arch.array
        names = [f"unit{k}" for k in range(a.units)]
        phases = []
        for idx, layer in enumerate(net.layers):
            share = -(-layer.macs // a.units)
            cycles = -(-share // a.macs_per_cycle)
            lanes = -(-share // cycles)  # the lanes a unit keeps busy on average
            phases.append(Phase(layer.name, idx, {n: [[Step(n, cycles, STEP_COMPUTE,
                                                            lanes=lanes)]] for n in names}))

        def costs(layer_cycles, engine):
            return RunCosts([LayerCosts({"mac": la.macs * a.energy_pj_per_mac * 1e-12},
                                        {"share": -(-la.macs // a.units)})
                             for la in net.layers], {}, {"units": a.units})

        return Plan([Resource(n, COMPUTE, a.macs_per_cycle, "toy") for n in names], phases,
                    costs)


def toy_yaml(tmp_path: Path, units: int = 4, **extra) -> Path:
    path = tmp_path / f"toy{units}.yaml"
    lines = ["kind: toy_mac_array", f"name: Toy{units}", "clock: {frequency_hz: 1.0e9}",
             f"array: {{units: {units}, macs_per_cycle: 64, energy_pj_per_mac: 0.1}}"]
    lines += [f"{k}: {v}" for k, v in extra.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module", autouse=True)
def toy_kind():
    register(ToyKind())
    yield
    unregister(ToyKind.name)


def test_a_registered_kind_runs_end_to_end(tmp_path):
    outcome = app.run(toy_yaml(tmp_path), "resnet20")
    doc = outcome.document()
    assert doc["kind"] == "toy_mac_array" and doc["total"]["area_mm2"] is None
    assert doc["utilisation"]["lanes"] == "MAC lanes of a toy unit"
    # the shared driver read cycles and utilisation from the engine record, by role
    for la, layer in zip(doc["layers"], outcome.net.layers, strict=True):
        share = -(-layer.macs // 4)
        cycles = -(-share // 64)
        assert la["cycles"] == cycles
        assert la["utilisation"] == pytest.approx(cycles * -(-share // cycles) / (64 * cycles))
        assert la["details"] == {"share": share}
    assert "Toy4" in outcome.text() and "units: 4" in outcome.text()
    written = outcome.write(tmp_path / "out") + outcome.plot(tmp_path / "plots", ["svg"])
    assert all(p.exists() for p in written)
    trace = json.loads(outcome.trace(tmp_path / "t.json").read_text())
    assert trace["otherData"]["compute_lanes"] == 4 * 64
    assert max(e["args"]["busy lanes"] for e in trace["traceEvents"] if e["ph"] == "C") > 0


def test_two_designs_of_a_new_kind_compare(tmp_path):
    cmp = app.compare_designs(toy_yaml(tmp_path, 8), toy_yaml(tmp_path, 4), "resnet20")
    assert 1.9 < cmp["speedup"] <= 2.0 and cmp["energy_efficiency"] == pytest.approx(1.0)
    assert cmp["details"] == {} and cmp["kind"] == "toy_mac_array"
    assert "Toy8 vs Toy4" in app.compare_text(cmp)


def test_what_a_kind_does_not_support_is_refused_by_name(tmp_path):
    with pytest.raises(UsageError) as err:
        app.run(toy_yaml(tmp_path), "resnet20", functional=True)
    assert err.value.key == "functional"
    with pytest.raises(UsageError) as err:
        app.load_design(toy_yaml(tmp_path), {"repeat": 3})
    assert err.value.key == "repeat"


def test_kind_errors_name_the_file_and_key(tmp_path):
    assert {"bitserial", "crossbar", "photonic", "toy_mac_array"} <= set(kind_names())
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: quantum\nname: Q\nclock: {frequency_hz: 1.0e9}\n")
    with pytest.raises(ConfigError) as err:
        load_arch(bad)
    assert err.value.key == "kind" and "quantum" in str(err.value) and "bad.yaml" in str(err.value)
    bad.write_text("name: Q\nclock: {frequency_hz: 1.0e9}\n")
    with pytest.raises(ConfigError) as err:
        load_arch(bad)
    assert err.value.key == "kind" and "bitserial" in str(err.value)
    with pytest.raises(ConfigError) as err:
        load_arch(toy_yaml(tmp_path, chip="{banks: 1}"))
    assert err.value.key == "chip" and "unknown key" in str(err.value)


def test_every_shipped_config_starts_with_its_kind():
    for path in sorted((ROOT / "arch_configs").glob("*.yaml")):
        first = path.read_text().splitlines()[0]
        assert first.startswith("kind: "), path.name
        kind = first.split()[1]
        assert load_arch(path).kind == kind and design_kind(kind).name == kind


def test_the_builtin_kinds_state_their_lanes():
    for name in ("bitserial", "crossbar", "photonic"):
        kind = design_kind(name)
        assert kind.lanes and kind.summary and issubclass(kind.schema, ArchBase)
