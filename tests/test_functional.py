"""The detailed path: micro-programs on real data equal an integer convolution, and
their executed primitive counts equal the fast path's cycles, item by item."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from imcsim.arch import load_arch
from imcsim.designs.bitserial.costs import subarray_op_costs
from imcsim.designs.bitserial.functional import check_network, im2col, reference_conv, run_layer
from imcsim.designs.bitserial.plan import plan_layer
from imcsim.workload.layer import ComputeLayer
from tests.conftest import ARCH


def small_layer(seed: int, cin=5, cout=7, hw=(6, 5), k=3, stride=1, pad=1, sparsity=0.5):
    rng = np.random.default_rng(seed)
    w = rng.choice([-1, 0, 1], size=(cout, cin, k, k), p=[(1 - sparsity) / 2, sparsity,
                                                           (1 - sparsity) / 2]).astype(np.int8)
    oh = (hw[0] + 2 * pad - k) // stride + 1
    ow = (hw[1] + 2 * pad - k) // stride + 1
    return ComputeLayer("small", "conv", cin, cout, (k, k), (stride, stride),
                        (pad, pad, pad, pad), (1, 1), 1, hw, (oh, ow), w,
                        np.ones(cout, np.float32))


@pytest.mark.parametrize("design", ["fat.yaml", "parapim.yaml", "fat_sram.yaml"])
@pytest.mark.parametrize("overrides", [{}, {"chip.rows": 100}, {"chip.banks": 1,
                                                                "chip.subarrays_per_bank": 3}])
def test_small_layer_exact(design, overrides):
    """rows=100 forces output-stationary streaming; 3 subarrays force multi-segment items."""
    arch = load_arch(ARCH / design, overrides)
    ops = subarray_op_costs(arch)
    layer = small_layer(seed=len(design) + len(overrides))
    x = np.random.default_rng(1).integers(0, 256, size=(layer.in_channels, *layer.in_hw))
    density = np.count_nonzero(layer.weights) / layer.weight_count
    plan = plan_layer(layer, arch, ops, density)
    out, check = run_layer(layer, x, plan, arch, ops)
    assert check.outputs_match and check.max_abs_error == 0
    assert check.cycles_match, check
    assert np.array_equal(out, reference_conv(x, layer))


def test_split_layer_goes_through_reduction(fat):
    arch = dataclasses.replace(fat, mapping=dataclasses.replace(fat.mapping, kind="input_stationary"))
    ops = subarray_op_costs(arch)
    layer = small_layer(seed=3, cin=16, cout=4, hw=(4, 4))  # fan-in 144 > one part
    x = np.random.default_rng(2).integers(0, 256, size=(16, 4, 4))
    plan = plan_layer(layer, arch, ops, 0.5)
    assert plan.tiling.split > 1 and len(plan.phases) == 2
    _, check = run_layer(layer, x, plan, arch, ops)
    assert check.outputs_match and check.cycles_match


@pytest.mark.parametrize("overrides", [{}, {"chip.rows": 100}])
def test_channels_cut_between_items_are_exact(overrides):
    """Three subarrays, seven channels: items end inside channels; each piece's partial
    sum goes through a reduction (even without fan-in parts), bit-exact, same cycles;
    and the busiest subarray finishes no later than with whole channels."""
    from imcsim.simulate import simulate
    from imcsim.workload.layer import Network

    layer = small_layer(seed=11, cin=8, hw=(8, 8))
    x = np.random.default_rng(5).integers(0, 256, size=(layer.in_channels, *layer.in_hw))
    cycles = {}
    for cut in (False, True):
        arch = load_arch(ARCH / "fat.yaml", {**overrides, "chip.banks": 1,
                                             "chip.subarrays_per_bank": 3,
                                             "mapping.max_input_splits": 1,
                                             "mapping.gather_channels": False,
                                             "mapping.cut_channels": cut})
        ops = subarray_op_costs(arch)
        plan = plan_layer(layer, arch, ops, 0.5)
        assert plan.tiling.split == 1
        assert plan.phases[0].pieces.whole != cut
        assert len(plan.phases) == (2 if cut else 1)
        out, check = run_layer(layer, x, plan, arch, ops)
        assert check.outputs_match and check.cycles_match, check
        assert np.array_equal(out, reference_conv(x, layer))
        net = Network("one", (layer,), 0, (layer.in_channels, *layer.in_hw), "", "")
        cycles[cut] = simulate(arch, net).layers[0].cycles
    assert cycles[True] < cycles[False]


@pytest.mark.slow  # (CI runs it; the gather and pixel layouts have fast exact tests above)
def test_resnet20_first_stage_both_designs(fat, parapim, resnet20):
    for arch in (fat, parapim):
        report = check_network(arch, resnet20, layers=7)
        assert len(report.layers) == 7
        assert report.all_match, report.text()


@pytest.mark.parametrize("sparse_loads", [False, True])
def test_a_wrong_fast_path_is_caught(fat, monkeypatch, sparse_loads):
    """If the mapping mis-stated its loads, the functional count would expose it."""
    import imcsim.designs.bitserial.mapping.tiling as tiling

    arch = load_arch(ARCH / "fat.yaml", {"chip.rows": 100, "mapping.gather_channels": False,
                                         "controller.skip_unused_activations": sparse_loads})
    ops = subarray_op_costs(arch)
    layer = small_layer(seed=5)
    x = np.random.default_rng(3).integers(0, 256, size=(layer.in_channels, *layer.in_hw))
    if sparse_loads:  # one activation too many counted per round
        original = tiling.needed_positions
        monkeypatch.setattr(tiling, "needed_positions", lambda *args: original(*args) + 1)
    else:
        original = tiling.Geometry.load_rounds
        monkeypatch.setattr(tiling.Geometry, "load_rounds",
                            lambda self, part, ch: original(self, part, ch) + 1)
    plan = plan_layer(layer, arch, ops, 0.5)
    _, check = run_layer(layer, x, plan, arch, ops)
    assert not check.cycles_match


def test_sparse_aware_loading_skips_unused_activations():
    """Skipping activations no resident channel adds: same outputs, fewer load rows,
    and the functional path counts the same cycles as the fast path."""
    layer = small_layer(seed=5)
    x = np.random.default_rng(3).integers(0, 256, size=(layer.in_channels, *layer.in_hw))
    loads = {}
    for flag in (False, True):
        arch = load_arch(ARCH / "fat.yaml", {"chip.rows": 100, "mapping.gather_channels": False,
                                             "controller.skip_unused_activations": flag})
        ops = subarray_op_costs(arch)
        plan = plan_layer(layer, arch, ops, 0.5)
        out, check = run_layer(layer, x, plan, arch, ops)
        assert check.outputs_match and check.cycles_match
        loads[flag] = int(plan.phases[0].load_rows.sum())
    assert loads[True] < loads[False]


def gather_plan(layer, arch, ops, split, tiles, per_pass, items):
    from imcsim.designs.bitserial.mapping.layouts import layer_items
    from imcsim.designs.bitserial.mapping.tiling import Tiling, UnitCosts
    from imcsim.designs.bitserial.plan import LayerPlan, geometry

    tiling = Tiling(split, tiles, items, "gather", per_pass)
    unit = UnitCosts(ops.add.cycles, ops.load_row.cycles, ops.reset_row.cycles,
                     ops.readout_row.cycles)
    return LayerPlan(layer, tiling, layer_items(layer, geometry(arch, ops), tiling, unit,
                                                arch.chip.banks))


@pytest.mark.parametrize("design", ["fat.yaml", "parapim.yaml", "fat_sram.yaml"])
@pytest.mark.parametrize(("split", "tiles", "per_pass", "items"),
                         [(1, 1, 0, 128), (3, 1, 0, 5), (2, 3, 2, 7), (5, 2, 1, 128)])
def test_gather_layout_exact(design, split, tiles, per_pass, items):
    """Channels side by side, each column group fed its own gathered activations (adds,
    then subtracts, zeros where a unit has fewer): outputs equal the integer reference,
    item by item the executed cycles equal the fast path's, through the packed
    reduction when parts split the work; a dense design adds its zero weights too."""
    arch = load_arch(ARCH / design)
    ops = subarray_op_costs(arch)
    layer = small_layer(seed=7 + split, cin=6, cout=9, hw=(5, 5))
    x = np.random.default_rng(split).integers(0, 256, size=(layer.in_channels, *layer.in_hw))
    plan = gather_plan(layer, arch, ops, split, tiles, per_pass, items)
    assert len(plan.phases) == (2 if split > 1 else 1)
    out, check = run_layer(layer, x, plan, arch, ops)
    assert check.outputs_match and check.cycles_match, check
    assert np.array_equal(out, reference_conv(x, layer))


def test_gather_a_wrong_step_count_is_caught(fat, monkeypatch):
    """If the gather layout under-counted its steps, the functional count would show it."""
    import imcsim.designs.bitserial.mapping.gather as gather

    original = gather.pass_steps
    monkeypatch.setattr(gather, "pass_steps",
                        lambda units: tuple(v - (v > 0) for v in original(units)))
    ops = subarray_op_costs(fat)
    layer = small_layer(seed=2, cin=6, cout=9, hw=(5, 5))
    x = np.random.default_rng(0).integers(0, 256, size=(layer.in_channels, *layer.in_hw))
    _, check = run_layer(layer, x, gather_plan(layer, fat, ops, 2, 1, 0, 4), fat, ops)
    assert check.outputs_match and not check.cycles_match


def test_im2col_matches_direct_sum():
    layer = small_layer(seed=9, stride=2, pad=0, hw=(7, 7))
    x = np.random.default_rng(4).integers(0, 256, size=(layer.in_channels, 7, 7))
    cols = im2col(x, layer)
    w = layer.weights.astype(np.int64)
    oh, ow = layer.out_hw
    for o in range(layer.out_channels):
        for yy in range(oh):
            for xx in range(ow):
                patch = x[:, 2 * yy:2 * yy + 3, 2 * xx:2 * xx + 3]
                assert (w[o] * patch).sum() == (w[o].ravel() * cols[0, yy * ow + xx]).sum()
