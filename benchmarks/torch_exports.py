"""Issue 15's must-show list on real PyTorch exports (offline; needs torch, onnx, and for
the named models torchvision, for the dynamo exporter onnxscript, for the QCDQ CNN
brevitas).

Run: PYTHONPATH=. python benchmarks/torch_exports.py [--out DIR] [--models a,b]
                                                    [--exporters ts13,ts17,dynamo,...]
                                                    [--json FILE]
Builds every model with seeded random weights (torch.manual_seed(0)) and exports it:
`ts<opset>[nf][dyn][keep]` is the TorchScript exporter (dynamo=False) at that opset (a
model with scaled_dot_product_attention gets 14 at least: the exporter cannot write it
before), `nf` without constant folding, `dyn` with dynamic batch and sequence (or H, W)
axes, pinned back with --seq / --input-shape, `keep` with the initializers also listed
as graph inputs; `dynamo` is the dynamo exporter at its
default opset (`dynamo<opset>`: converted to that opset), `dynamo-dyn` with those axes
dynamic (torch.export.Dim.AUTO),
`dynamo-ext` with the weights in an external-data file, `dynamo-noopt` without its
graph optimisation. brevitas's QCDQ CNN goes through its own export_onnx_qcdq (TorchScript
path for ts*, its dynamo path for dynamo).
Each file goes through `imcsim workload info FILE --format json` in a subprocess; its
weight and activation MACs are set beside an independent count on the same model and
input (`tests/torch_models.count_macs`: torch's FLOP formulas, split by operands) and
torch's FlopCounterMode total; with --values, also imcsim's functional path on the
imported graph against torch's output. Prints one row per file and exits 1 if any file
fails to import or differs (a model an exporter cannot write is reported, not counted). The .onnx files stay in --out (default: a temporary folder, removed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import torch  # noqa: E402
import torch_models as tm  # noqa: E402
from torch import nn  # noqa: E402

IMAGE = (1, 3, 224, 224)
TORCHVISION = ("vit_b_16", "swin_t", "convnext_tiny", "shufflenet_v2_x1_0",
               "mobilenet_v3_small", "resnet18")
SEQUENCE = ("encoder", "bertlike", "lstm")  # models whose axis 1 is a sequence
EXPORTERS = ("ts13", "ts17", "dynamo", "ts17dyn", "ts13nf")


def _qcdq_cnn() -> nn.Module:
    """A brevitas CNN with 4-bit weights, the first layer's scaled per output channel
    (QCDQ export: QuantizeLinear -> Clip -> DequantizeLinear on every weight)."""
    import brevitas.nn as qnn

    class QCnn(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inp = qnn.QuantIdentity(bit_width=8, return_quant_tensor=True)
            self.c1 = qnn.QuantConv2d(3, 16, 3, padding=1, weight_bit_width=4,
                                      weight_scaling_per_output_channel=True)
            self.r1 = qnn.QuantReLU(bit_width=8, return_quant_tensor=True)
            self.c2 = qnn.QuantConv2d(16, 32, 3, stride=2, weight_bit_width=4)
            self.r2 = qnn.QuantReLU(bit_width=8, return_quant_tensor=True)
            self.fc = qnn.QuantLinear(32 * 15 * 15, 10, bias=True, weight_bit_width=4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.r2(self.c2(self.r1(self.c1(self.inp(x)))))
            return self.fc(torch.flatten(y, 1))

    return QCnn()


def _qcdq_attention() -> nn.Module:
    """A brevitas attention block on [1, 16, 32] (QuantMultiheadAttention, 4 heads, and
    a 2-layer MLP of QuantLinear): QCDQ weights behind Transposes, Q/DQ activations
    around the attention matmuls."""
    import brevitas.nn as qnn

    class QAttn(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inp = qnn.QuantIdentity(bit_width=8)
            self.attn = qnn.QuantMultiheadAttention(32, 4, batch_first=True)
            self.fc1 = qnn.QuantLinear(32, 64, bias=True, weight_bit_width=4)
            self.act = qnn.QuantReLU(bit_width=8)
            self.fc2 = qnn.QuantLinear(64, 32, bias=True, weight_bit_width=4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.inp(x)
            y, _ = self.attn(x, x, x, need_weights=False)
            return self.fc2(self.act(self.fc1(y + x)))

    return QAttn()


def models(names: list[str] | None) -> dict[str, tuple[Callable[[], nn.Module], Any]]:
    """name -> (model maker, example input maker); torchvision's and brevitas's only
    where they import (a note is printed otherwise)."""
    out: dict[str, tuple[Callable[[], nn.Module], Any]] = {}
    tv, why = tm.torchvision_or_none()
    if tv is None:
        print(f"# torchvision models left out: {why}")
    else:
        for name in TORCHVISION:
            out[name] = (getattr(tv.models, name), lambda: torch.randn(*IMAGE))
    out.update(tm.small_models())
    try:
        import brevitas  # noqa: F401
        out["brevitas_qcdq_cnn"] = (_qcdq_cnn, lambda: torch.randn(1, 3, 32, 32))
        out["brevitas_qcdq_attention"] = (_qcdq_attention, lambda: torch.randn(1, 16, 32))
    except ImportError as exc:
        print(f"# brevitas left out: {exc}")
    return {k: v for k, v in out.items() if names is None or k in names}


def _ts_options(exporter: str) -> tuple[int, set[str]]:
    """(opset, flags) of a TorchScript exporter name `ts<opset>[nf][dyn][keep]` (nf:
    do_constant_folding=False; dyn: dynamic batch and sequence / H, W axes; keep:
    keep_initializers_as_inputs=True)."""
    digits = "".join(c for c in exporter[2:] if c.isdigit())
    rest = exporter[2 + len(digits):]
    flags = {f for f in ("nf", "dyn", "keep") if f in rest}
    return int(digits), flags


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silences file descriptor 1 (the TorchScript exporter's C++ side prints the whole
    graph there when an op needs a newer opset)."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        try:
            yield
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)


def export(name: str, model: nn.Module, x: torch.Tensor, exporter: str,
           path: Path) -> tuple[str, list[str]]:
    """Writes `path`; returns the exporter as used (`ts13` becomes `ts14` for a model
    whose scaled_dot_product_attention the TorchScript exporter cannot write before
    opset 14) and the extra `workload info` arguments that pin its dynamic axes."""
    with warnings.catch_warnings(), _quiet_stdout():
        warnings.simplefilter("ignore")
        if name.startswith("brevitas"):
            from brevitas.export import export_onnx_qcdq
            if exporter == "dynamo":
                export_onnx_qcdq(model, x, export_path=str(path), dynamo=True,
                                 opset_version=18)  # (its default, 13, fails to convert)
            else:
                export_onnx_qcdq(model, x, export_path=str(path), dynamo=False,
                                 opset_version=_ts_options(exporter)[0])
            return exporter, []
        opset, flags = _ts_options(exporter) if exporter.startswith("ts") else (0, set())
        dyn = "dyn" in flags or exporter.endswith("dyn")
        if exporter.startswith("dynamo"):
            shapes = None
            if dyn:
                dim = torch.export.Dim.AUTO
                shapes = ({0: dim, 1: dim} if name in SEQUENCE else
                          {0: dim, **({2: dim, 3: dim} if x.dim() == 4 else {})},)
            version = "".join(c for c in exporter if c.isdigit())
            prog = torch.onnx.export(model, (x,), dynamo=True, verbose=False,
                                     dynamic_shapes=shapes,
                                     optimize=exporter != "dynamo-noopt",
                                     opset_version=int(version) if version else None)
            prog.save(str(path), external_data=exporter == "dynamo-ext")
        else:
            axes = None
            if dyn:
                axes = {"x": {0: "batch", 1: "seq"} if name in SEQUENCE else
                        {0: "batch", **({2: "h", 3: "w"} if x.dim() == 4 else {})}}
            options = {"dynamo": False, "input_names": ["x"], "dynamic_axes": axes,
                       "do_constant_folding": "nf" not in flags,
                       "keep_initializers_as_inputs": "keep" in flags}
            try:
                torch.onnx.export(model, (x,), str(path), opset_version=opset, **options)
            except torch.onnx.errors.UnsupportedOperatorError as exc:
                if opset >= 14 or "version 14" not in str(exc):
                    raise
                exporter = exporter.replace(f"ts{opset}", "ts14")
                torch.onnx.export(model, (x,), str(path), opset_version=14, **options)
    if dyn and name in SEQUENCE:
        return exporter, ["--seq", str(x.shape[1])]
    if dyn and x.dim() == 4:
        return exporter, ["--input-shape", "x=" + ",".join(str(d) for d in x.shape)]
    return exporter, []


def workload_info(path: Path, extra: list[str]) -> tuple[dict[str, Any] | None, str]:
    """`imcsim workload info` on `path` in a subprocess: (JSON, "") or (None, stderr)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-m", "imcsim.cli", "workload", "info", str(path),
                        "--format", "json", *extra], capture_output=True, text=True, env=env)
    if r.returncode:
        return None, (r.stderr.strip().splitlines() or ["?"])[-1]
    return json.loads(r.stdout), ""


def values_error(path: Path, extra: list[str], model: nn.Module, x: torch.Tensor) -> float:
    """Largest |imcsim - torch| / max|torch| of the model's output: the imported graph
    run by imcsim's functional path (float64, exact products) against torch's forward
    pass on the same input."""
    from imcsim.functional.graph_exec import run_graph
    from imcsim.workload import import_onnx

    seq = int(extra[1]) if extra[:1] == ["--seq"] else None
    shapes = {"x": tuple(x.shape)} if extra[:1] == ["--input-shape"] else None
    graph = import_onnx(path, seq=seq, input_shapes=shapes)
    got = run_graph(graph, {graph.inputs[0].name: x.numpy()})[graph.outputs[0]]
    with torch.no_grad():
        want = model(x).numpy()
    return float(abs(got.reshape(want.shape) - want).max() / max(abs(want).max(), 1e-30))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=None, help="keep the .onnx files here")
    parser.add_argument("--models", default=None, help="comma-separated names")
    parser.add_argument("--exporters", default=",".join(EXPORTERS))
    parser.add_argument("--json", default=None, help="write the rows here")
    parser.add_argument("--values", action="store_true",
                        help="also run each imported graph (imcsim's functional path) "
                             "and compare its output with torch's")
    args = parser.parse_args()
    names = args.models.split(",") if args.models else None
    exporters = args.exporters.split(",")
    tmp = None
    if args.out is None:
        tmp = tempfile.TemporaryDirectory()
        out = Path(tmp.name)
    else:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    bad = 0
    print(f"{'model':20} {'exporter':8} {'imports':7} {'weight MACs':>15} {'act MACs':>13} "
          f"{'indep. weight':>15} {'indep. act':>13} {'FlopCounter':>15} equal")
    for name, (make, example) in models(names).items():
        torch.manual_seed(0)
        model = make().eval()
        with torch.no_grad():  # torchvision's ViT zero-initialises its head: the output
            for p in model.parameters():  # would be its bias, whatever the graph did
                if p.dim() >= 2 and not p.any():
                    nn.init.normal_(p, std=0.02)
        x = example()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            count = tm.count_macs(model, x)
        for exporter in exporters:
            if name.startswith("brevitas") and (exporter.endswith(("nf", "dyn")) or
                                                exporter.startswith("dynamo-")):
                continue  # (brevitas's own export takes none of these options)
            path = out / f"{name}_{exporter}.onnx"
            row: dict[str, Any] = {"model": name, "exporter": exporter,
                                   "independent_weight_macs": count["weight_macs"],
                                   "independent_activation_macs": count["activation_macs"],
                                   "flop_counter_macs": count["flop_counter_macs"],
                                   "by_op": count["by_op"]}
            try:
                used, extra = export(name, model, x, exporter, path)
            except Exception as exc:
                row.update(imports=None, error=f"export failed: {type(exc).__name__}: "
                                                f"{str(exc).splitlines()[0][:200]}")
            else:
                row["exporter"] = used
                info, err = workload_info(path, extra)
                row.update(imports=info is not None, error=err, args=extra)
                if info is not None:
                    row.update(weight_macs=info["weight_macs"],
                               activation_macs=info["activation_macs"])
                    if args.values:
                        row["value_error"] = values_error(path, extra, model, x)
            row["equal"] = None if not row["imports"] else \
                (row["weight_macs"], row["activation_macs"]) == \
                (count["weight_macs"], count["activation_macs"])
            bad += row["imports"] is False or row["equal"] is False
            rows.append(row)
            print(f"{name:20} {row['exporter']:8} {str(row['imports']):7} "
                  f"{row.get('weight_macs', '-'):>15} {row.get('activation_macs', '-'):>13} "
                  f"{count['weight_macs']:>15} {count['activation_macs']:>13} "
                  f"{count['flop_counter_macs']:>15} {row['equal']}"
                  + (f"   max rel. error {row['value_error']:.1e}" if "value_error" in row
                     else "")
                  + (f"   {row['error']}" if row.get("error") else ""), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    if tmp is not None:
        tmp.cleanup()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
