"""torchvision models exported at test time (random weights, seeded) through the
TorchScript exporter (opsets 13 and 17; 14 where it cannot write attention before) and
the dynamo exporter (with and without its optimiser): `workload info`'s weight and
activation x activation MACs against an independent count on the same model and input
(`torch_models.count_macs`: torch's own FLOP formulas, split by operands) and against
FlopCounterMode's total. shufflenet_v2 as torchvision builds it (at 64 x 64: the MACs
scale, the graph is the same), and torchvision's
VisionTransformer and SwinTransformer classes in small configurations (2 blocks, width
64 / 32), which keep the exporters' attention, LayerNorm, GELU, window-shift and mask
graphs. Skipped without torch or torchvision (the dynamo exports also without
onnxscript); slow tests. The full-size models: benchmarks/torch_exports.py."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from imcsim.workload import load_network, workload_info

torch = pytest.importorskip("torch", reason="torch is not installed: the torchvision "
                                            "export test needs it")
pytest.importorskip("onnx")
import torch_models as tm  # noqa: E402  (needs torch)

TV, WHY = tm.torchvision_or_none()
if TV is None:
    pytest.skip(WHY, allow_module_level=True)


def _models() -> dict[str, tuple[Any, tuple[int, ...]]]:
    """name -> (model maker, input shape)."""
    swin = TV.models.swin_transformer
    return {
        "shufflenet_v2_x1_0": (TV.models.shufflenet_v2_x1_0, (1, 3, 64, 64)),
        "vit_small": (lambda: TV.models.VisionTransformer(
            image_size=32, patch_size=8, num_layers=2, num_heads=4, hidden_dim=64,
            mlp_dim=128, num_classes=10), (1, 3, 32, 32)),
        "swin_small": (lambda: swin.SwinTransformer(
            patch_size=[4, 4], embed_dim=32, depths=[2, 2], num_heads=[2, 4],
            window_size=[4, 4], num_classes=10), (1, 3, 64, 64)),
    }


def _export(model: Any, x: Any, path: Path, exporter: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if exporter.startswith("dynamo"):
            prog = torch.onnx.export(model, (x,), dynamo=True, verbose=False,
                                     optimize=exporter == "dynamo")
            prog.save(str(path))
            return
        opset = int(exporter[2:])
        try:
            torch.onnx.export(model, (x,), str(path), opset_version=opset, dynamo=False)
        except torch.onnx.errors.UnsupportedOperatorError:
            assert opset < 14  # (scaled_dot_product_attention needs opset 14)
            torch.onnx.export(model, (x,), str(path), opset_version=14, dynamo=False)


def _check(tmp_path: Path, exporters: tuple[str, ...]) -> None:
    for name, (make, shape) in _models().items():
        torch.manual_seed(0)
        model = make().eval()
        x = torch.randn(*shape)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            count = tm.count_macs(model, x)
        assert count["flop_counter_macs"] == count["weight_macs"] + count["activation_macs"]
        assert (count["activation_macs"] > 0) == (name in ("vit_small", "swin_small"))
        for exporter in exporters:
            path = tmp_path / f"{name}_{exporter}.onnx"
            _export(model, x, path, exporter)
            info = workload_info(load_network(str(path)))
            assert (info["weight_macs"], info["activation_macs"]) == \
                (count["weight_macs"], count["activation_macs"]), f"{name} {exporter}"
            path.unlink()


@pytest.mark.slow  # 5-7 s (plus importing torch and torchvision)
def test_torchscript_exports_match_torch_counts(tmp_path: Path) -> None:
    _check(tmp_path, ("ts13", "ts17"))


@pytest.mark.slow  # ~25 s: the dynamo exporter traces each model twice
def test_dynamo_exports_match_torch_counts(tmp_path: Path) -> None:
    pytest.importorskip("onnxscript", reason="the dynamo exporter needs onnxscript")
    _check(tmp_path, ("dynamo", "dynamo-noopt"))
