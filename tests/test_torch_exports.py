"""Real PyTorch exports (torch.onnx, TorchScript exporter, opset 13 and 17) of the five
small models the issue tried (`torch_models`): a 2-layer TransformerEncoder, an nn.LSTM
model, a Conv1d model, a BERT-like encoder and a small U-Net (ConvTranspose2d +
interpolate). `workload info` MACs against counts written out here from the layer sizes
(which torch's FLOP counter, split by operands, must give too), and the functional path
against torch's own output. Skipped without torch (CI has none); with it, about 1 s
(plus 2-3 s importing torch), so it runs in the default suite."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from imcsim.functional.graph_exec import run_graph
from imcsim.workload import import_onnx, load_network, workload_info

torch = pytest.importorskip("torch", reason="torch is not installed: the real-export test "
                                            "needs it (pip install torch)")
pytest.importorskip("onnx")

import torch_models as tm  # noqa: E402  (needs torch)
from torch_models import C1, FF, SEQ, Bert, D, Enc, Lstm, UNet  # noqa: E402


def _encoder_macs(layers: int) -> tuple[int, int]:
    """(weight, attention) MACs: per layer q, k, v, out projections (4 d^2) and the two
    feed-forward Linears (2 d ff) per token; Q.K^T and A.V (2 seq^2 d) per sequence."""
    return layers * SEQ * (4 * D * D + 2 * D * FF), layers * 2 * SEQ * SEQ * D


def _models():
    """name -> (module, example input, opsets, weight MACs, activation MACs), the MACs
    written out from the layer sizes."""
    enc = _encoder_macs(2)
    return {
        "encoder": (Enc, lambda: torch.randn(1, SEQ, D), (17,), *enc),
        "bertlike": (Bert, lambda: torch.randint(0, 100, (1, SEQ)), (17,), *enc),
        # LSTM: seq 8 x 4 gates x 32 hidden x (16 inputs + 32 hidden); fc 32 -> 10
        "lstm": (Lstm, lambda: torch.randn(1, 8, 16), (13, 17), 8 * 4 * 32 * (16 + 32)
                 + 32 * 10, 0),
        # Conv1d: 32 outputs x 16 channels x 8 inputs x 3 taps; fc 512 -> 4
        "conv1d": (C1, lambda: torch.randn(1, 8, 32), (13, 17), 32 * 16 * 8 * 3 + 512 * 4, 0),
        # Conv 3->8 k3 s2 on 32x32: 16x16 outputs x 8 x 3 x 9; ConvTranspose 8->8 k2 s2:
        # 16x16 input pixels x 8 in x 8 out x 4 taps; Conv 1x1 8->2 on 32x32
        "unet": (UNet, lambda: torch.randn(1, 3, 32, 32), (13, 17),
                 16 * 16 * 8 * 3 * 9 + 16 * 16 * 8 * 8 * 4 + 32 * 32 * 2 * 8, 0),
    }


def test_torch_exports_import_with_independent_macs(tmp_path: Path) -> None:
    torch.manual_seed(0)
    for name, (cls, example, opsets, weight, attention) in _models().items():
        model = cls().eval()
        x = example()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            count = tm.count_macs(model, x)  # torch's own FLOP formulas agree
        assert (count["weight_macs"], count["activation_macs"]) == (weight, attention), name
        for opset in opsets:
            path = tmp_path / f"{name}_{opset}.onnx"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(model, (x,), str(path), opset_version=opset, dynamo=False)
            info = workload_info(load_network(str(path)))
            assert (info["weight_macs"], info["activation_macs"]) == (weight, attention), \
                f"{name} opset {opset}"
            assert info["total_macs"] == weight + attention
            if name in ("lstm", "conv1d", "unet"):  # (the encoders' twin layers start
                # equal, and the exporter stores equal tensors once)
                assert info["total_params"] == sum(p.numel() for p in model.parameters())
                graph = import_onnx(path)
                got = run_graph(graph, {graph.inputs[0].name: x.numpy()})[graph.outputs[0]]
                with torch.no_grad():
                    want = model(x).numpy()
                np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5,
                                           err_msg=f"{name} opset {opset}")
