"""Torch-side helpers of the real-export checks (tests/test_torch_exports.py and the
offline script benchmarks/torch_exports.py): the small models the issue tried, torchvision
behind a guard, and an independent MAC count split into weight and activation x
activation products.

Import this module only where torch is importable (the tests skip before importing it).
The independent count runs the model eagerly under a TorchDispatchMode that sees every
aten op: torch's own FLOP formulas (`torch.utils.flop_counter.flop_registry`, 2 x MACs
for mm/bmm/addmm/baddbmm/convolution) give the products, and each product is a weight
product unless both operands derive from the model input (a weight operand derives from
parameters or constants, quantized or not; so does the zero initial state of a
recurrence, whose products with its weights are weight products as the ONNX LSTM's
recurrent matmuls are), an activation x activation product when both do.
FlopCounterMode's own total is returned beside it as a cross-check."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import FlopCounterMode, flop_registry
from torch.utils.weak import WeakIdKeyDictionary

D, HEADS, FF, SEQ = 64, 4, 128, 16  # the small encoders


def torchvision_or_none() -> tuple[ModuleType | None, str]:
    """(torchvision, "") or (None, why not). The PyPI torchvision wheels link the CUDA
    build of torch; under a CPU-only torch their C++ ops do not load and
    `import torchvision` fails registering fake kernels for `torchvision::nms`/`qnms`.
    The model code is pure Python, so the two schemas are defined first (the ops are
    never called)."""
    try:
        import torchvision
        return torchvision, ""
    except ImportError as exc:
        return None, f"torchvision is not installed ({exc})"
    except RuntimeError:
        pass
    try:
        lib = torch.library.Library("torchvision", "FRAGMENT")
        for op in ("nms", "qnms"):
            if not hasattr(torch.ops.torchvision, op):
                lib.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        _LIBS.append(lib)
        import torchvision
        return torchvision, ""
    except Exception as exc:  # a torchvision that does not match this torch at all
        return None, f"torchvision does not import with this torch: {exc}"


_LIBS: list[Any] = []  # keeps the schema library alive


class Enc(nn.Module):
    """A 2-layer nn.TransformerEncoder (GELU feed-forward)."""

    def __init__(self) -> None:
        super().__init__()
        layer = nn.TransformerEncoderLayer(D, HEADS, FF, batch_first=True, activation="gelu")
        self.enc = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.enc(x)


class Lstm(nn.Module):
    """An nn.LSTM over 8 steps and a Linear on the last step."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm, self.fc = nn.LSTM(16, 32, batch_first=True), nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.lstm(x)
        return self.fc(y[:, -1])


class C1(nn.Module):
    """A Conv1d and a Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.c, self.fc = nn.Conv1d(8, 16, 3, padding=1), nn.Linear(16 * 32, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.c(x)).flatten(1))


class Bert(nn.Module):
    """A BERT-like encoder: an embedding, a LayerNorm and a 2-layer encoder."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(100, D)
        layer = nn.TransformerEncoderLayer(D, HEADS, FF, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.ln = nn.LayerNorm(D)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.enc(self.ln(self.emb(ids)))


class UNet(nn.Module):
    """A small U-Net step: a strided Conv, a ConvTranspose2d and an interpolated skip."""

    def __init__(self) -> None:
        super().__init__()
        self.d, self.u = nn.Conv2d(3, 8, 3, 2, 1), nn.ConvTranspose2d(8, 8, 2, 2)
        self.o = nn.Conv2d(8, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = nn.functional.interpolate(x[:, :1].repeat(1, 8, 1, 1), scale_factor=1.0)
        return self.o(torch.relu(self.u(torch.relu(self.d(x)))) + skip)


def small_models() -> dict[str, tuple[type[nn.Module], Any]]:
    """name -> (module class, example input maker) of the five small models."""
    return {
        "encoder": (Enc, lambda: torch.randn(1, SEQ, D)),
        "bertlike": (Bert, lambda: torch.randint(0, 100, (1, SEQ))),
        "lstm": (Lstm, lambda: torch.randn(1, 8, 16)),
        "conv1d": (C1, lambda: torch.randn(1, 8, 32)),
        "unet": (UNet, lambda: torch.randn(1, 3, 32, 32)),
    }


class _SplitCounter(TorchDispatchMode):
    """Counts MACs of every op torch's FLOP counter knows, split by whether one or both
    matrix operands derive from the inputs (see the module docstring)."""

    def __init__(self, inputs: list[torch.Tensor]) -> None:
        super().__init__()
        self.derived: WeakIdKeyDictionary = WeakIdKeyDictionary()
        for t in inputs:
            self.derived[t] = True
        self.macs = {"weight": 0, "act x act": 0}
        self.by_op: dict[str, int] = {}

    def _is_derived(self, t: Any) -> bool:
        return isinstance(t, torch.Tensor) and t in self.derived

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (),
                           kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        flat_in, _ = tree_flatten((args, kwargs))
        derived = any(self._is_derived(t) for t in flat_in)
        if derived:
            for t in tree_flatten(out)[0]:
                if isinstance(t, torch.Tensor):
                    self.derived[t] = True
        packet = func._overloadpacket
        if packet in flop_registry:
            flops = flop_registry[packet](*args, **kwargs, out_val=out)
            macs = int(flops) // 2
            # the two matrix operands: addmm/baddbmm's follow the bias
            operands = args[1:3] if str(packet) in ("aten.addmm", "aten.baddbmm") \
                else args[:2]
            both = all(self._is_derived(t) for t in operands)
            kind = "act x act" if both else "weight"
            self.macs[kind] += macs
            key = f"{packet}{' (act x act)' if both else ''}"
            self.by_op[key] = self.by_op.get(key, 0) + macs
        return out


def count_macs(model: nn.Module, x: torch.Tensor) -> dict[str, Any]:
    """Independent MAC count of `model(x)`: weight MACs, activation x activation MACs,
    MACs by aten op, and FlopCounterMode's total FLOPs / 2 on the same run. Attention
    runs on the math backend so that its products are visible as bmm/matmul ops (the CPU
    flash kernel has no entry in torch's FLOP registry), oneDNN off (its aten.mkldnn_rnn_layer has none either; without it
    an LSTM runs as addmm per step), and with autograd on, so that
    nn.TransformerEncoderLayer and nn.MultiheadAttention skip their fused inference fast
    path (one opaque aten op)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    model.eval()
    with sdpa_kernel(SDPBackend.MATH), torch.backends.mkldnn.flags(enabled=False):
        counter = _SplitCounter([x])
        with counter:
            model(x)
        flop_mode = FlopCounterMode(display=False)
        with flop_mode:
            model(x)
    return {"weight_macs": counter.macs["weight"],
            "activation_macs": counter.macs["act x act"], "by_op": counter.by_op,
            "flop_counter_macs": flop_mode.get_total_flops() // 2}
