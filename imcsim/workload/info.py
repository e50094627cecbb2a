"""`imcsim workload info` / `import` behind the CLI: a network's summary, ONNX -> native."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from imcsim.errors import WorkloadError
from imcsim.workload.layer import ComputeLayer, Network
from imcsim.workload.op_kinds import ACTIVATION, DATA, ELEMENTWISE, REDUCTION


def _shapes(layer: ComputeLayer) -> tuple[list[int], list[int]]:
    """(input, output) activation shape without batch: [C, H, W], or [features] for fc
    ([rows, features] for an fc layer over several activation rows)."""
    if layer.kind == "fc":
        rows = [layer.out_hw[0]] if layer.out_hw[0] > 1 else []
        return [*rows, layer.in_channels], [*rows, layer.out_channels]
    return [layer.in_channels, *layer.in_hw], [layer.out_channels, *layer.out_hw]


def workload_info(network: Network) -> dict[str, Any]:
    """A JSON-ready summary: name, source, quantizer, input_shape, weight_macs (the
    weight layers'), activation_macs (Gemm/MatMul of two activations: attention),
    total_macs (their sum), total_params, `layers`, one dict per weight layer with name,
    op, kind, input_shape, output_shape, kernel, stride, groups, macs, params (weights of
    the layer; a weight shared by several layers counts in each), weight_bits, sparsity
    (fraction of zero weights), weight (the initializer's name); `other_ops`, one dict
    per other node (name, op, kind: activation / elementwise / reduction / data, macs,
    elements, output_shape; see `op_kinds`), and `periphery`: elements and node count by
    kind of the elementwise, reduction and data-movement work (untimed: the digital
    periphery)."""
    layers = []
    for la in network.layers:
        nonzeros = int(np.count_nonzero(la.weights))
        inp, out = _shapes(la)
        layers.append({
            "name": la.name, "op": la.op or ("Conv" if la.kind == "conv" else "Gemm"),
            "kind": la.kind, "input_shape": inp, "output_shape": out,
            "kernel": list(la.kernel), "stride": list(la.stride), "groups": la.groups,
            "macs": la.macs, "params": la.weight_count, "weight_bits": la.weight_bits,
            "sparsity": 1.0 - nonzeros / la.weight_count if la.weight_count else 0.0,
            "weight": la.weight_name,
        })
    others = [{"name": o.name, "op": o.op, "kind": o.kind, "macs": o.macs,
               "elements": o.elements, "output_shape": list(o.output_shape[1:])}
              for o in network.other_ops]
    periphery = {k: {"elements": sum(o.elements for o in network.other_ops if o.kind == k),
                     "nodes": sum(1 for o in network.other_ops if o.kind == k)}
                 for k in (ELEMENTWISE, REDUCTION, DATA)}
    weight, act = network.total_macs, network.activation_macs
    return {"name": network.name, "source": network.source, "quantizer": network.quantizer,
            "input_shape": list(network.input_shape), "weight_macs": weight,
            "activation_macs": act, "total_macs": weight + act,
            "total_params": network.total_params, "layers": layers, "other_ops": others,
            "periphery": periphery}


def _dims(shape: list[int]) -> str:
    return "x".join(str(d) for d in shape)


def workload_info_text(info: dict[str, Any]) -> str:
    """`workload_info` as a header and an aligned per-layer table."""
    head = [f"network: {info['name']}   source: {info['source']}",
            f"weights: {info['quantizer']}",
            f"input: {_dims(info['input_shape'])}   layers: {len(info['layers'])}   "
            f"MACs: {info['total_macs']:,}   params: {info['total_params']:,}   "
            f"(weight MACs: {info['weight_macs']:,}   activation x activation MACs: "
            f"{info['activation_macs']:,})", ""]
    cols = ("layer", "op", "kind", "input", "output", "kernel", "MACs", "weights", "bits",
            "zeros")
    rows = [[r["name"], r["op"], r["kind"], _dims(r["input_shape"]),
             _dims(r["output_shape"]),
             ("-" if r["kind"] == "fc" else _dims(r["kernel"]))
             + (f"/{r['stride'][0]}" if max(r["stride"]) > 1 else "")
             + (f" g{r['groups']}" if r["groups"] > 1 else ""),
             f"{r['macs']:,}", f"{r['params']:,}", str(r["weight_bits"]),
             f"{100 * r['sparsity']:.1f}%"] for r in info["layers"]]
    rows += [[r["name"], r["op"], "act x act", "-", _dims(r["output_shape"]), "-",
              f"{r['macs']:,}", "-", "-", "-"]
             for r in info["other_ops"] if r["kind"] == ACTIVATION]
    rows.append(["total", "", "", "", "", "", f"{info['total_macs']:,}", "", "", ""])
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
    right = {6, 7, 8, 9}

    def line(cells: list[str] | tuple[str, ...]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    work = info["periphery"]
    tail = ("periphery (untimed): " + ", ".join(
        f"{k} {work[k]['elements']:,} elements in {work[k]['nodes']} nodes"
        for k in (ELEMENTWISE, REDUCTION, DATA)))
    return "\n".join(head + [line(cols)] + [line(r) for r in rows] + [tail])


def import_to_native(onnx_path: str | Path, out_path: str | Path) -> Path:
    """Import an ONNX/QONNX model and write it as a native graph file (.yaml/.yml/.json)
    plus its `.npz` beside it, both atomically. Returns the graph file's path."""
    from imcsim.atomic import check_file_target
    from imcsim.workload.native import write_native
    from imcsim.workload.onnx_import import import_onnx

    out = Path(out_path)
    if not out.parent.is_dir() and not out.parent.parent.is_dir():
        raise WorkloadError("neither the output folder nor its parent exists (one folder "
                            "is created, not a path of them)", source=str(out), key="out")
    for target in (out, out.with_suffix(".npz")):
        check_file_target(target, WorkloadError, "out")
    return write_native(import_onnx(onnx_path), out)
