"""`graph_to_onnx`: a `Graph` -> onnx.ModelProto (opset 17; `import onnx` here, lazily).

Nodes map one to one (the IR uses ONNX opset-17 ops; QONNX Quant goes to the
"qonnx.custom_op.general" domain). Float initializers are written as they are (times
their `scale`, if they carry one). A quantized initializer NAME becomes the int8
initializer NAME_levels, its scale NAME_scale (per-axis 1-D, or a scalar) and zero point
NAME_zero_point, and a DequantizeLinear node producing NAME; `import_onnx` folds it back
into the same levels and scale (bit width 2 if ternary, else 8).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from imcsim.errors import WorkloadError
from imcsim.workload.graph import Graph, Node, Tensor
from imcsim.workload.onnx_import import QONNX_DOMAINS, require_onnx
from imcsim.workload.shapes import infer_shapes

OPSET = 17


def _dequantize(onnx: Any, t: Tensor, data: np.ndarray) -> tuple[list[Any], Any]:
    """Initializers and the DequantizeLinear node of quantized tensor `t` (levels `data`)."""
    nh = onnx.numpy_helper
    scale = np.ones((), np.float32) if t.scale is None else np.asarray(t.scale, np.float32)
    scale = np.reshape(scale, (1,) * (data.ndim - scale.ndim) + scale.shape)
    long = [ax for ax, d in enumerate(scale.shape) if d > 1]
    if len(long) > 1:
        raise WorkloadError(f"scale {list(scale.shape)} varies along more than one axis",
                            key=f"initializer {t.name}")
    axis = long[0] if long else 0
    scale = scale.reshape(-1) if long else scale.reshape(())
    names = [f"{t.name}_levels", f"{t.name}_scale", f"{t.name}_zero_point"]
    arrays = [np.asarray(data, np.int8), scale, np.zeros(scale.shape, np.int8)]
    inits = [nh.from_array(a, n) for a, n in zip(arrays, names, strict=True)]
    node = onnx.helper.make_node("DequantizeLinear", names, [t.name],
                                 name=f"{t.name}_dequantize", axis=axis)
    return inits, node


def _node(onnx: Any, n: Node) -> Any:
    attrs = {k: v for k, v in n.attrs.items() if not (isinstance(v, list) and not v)}
    domain = QONNX_DOMAINS[0] if n.op == "Quant" else ""
    return onnx.helper.make_node(n.op, n.inputs, n.outputs, name=n.name, domain=domain,
                                 **attrs)


def graph_to_onnx(graph: Graph) -> Any:
    """Export `graph` as an ONNX model (opset 17) whose graph outputs carry their shapes."""
    onnx = require_onnx()
    helper, nh = onnx.helper, onnx.numpy_helper
    shapes = infer_shapes(graph)
    inits, pre = [], []
    for t in graph.initializers.values():
        data = t.data  # read once (a deferred zoo weight is drawn on each read)
        if data is None:
            raise WorkloadError("initializer has no data", key=f"initializer {t.name}")
        if t.is_quantized:
            more, node = _dequantize(onnx, t, data)
            inits += more
            pre.append(node)
        elif t.scale is not None:
            inits.append(nh.from_array((data * t.scale).astype(data.dtype), t.name))
        else:
            inits.append(nh.from_array(np.asarray(data), t.name))

    def info(name: str, dtype: str) -> Any:
        elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
        return helper.make_tensor_value_info(name, elem, list(shapes[name]))

    g = helper.make_graph(pre + [_node(onnx, n) for n in graph.nodes], graph.name,
                          [info(t.name, t.dtype) for t in graph.inputs],
                          [info(name, "float32") for name in graph.outputs], inits)
    opsets = [helper.make_opsetid("", OPSET)]
    if any(n.op == "Quant" for n in graph.nodes):
        opsets.append(helper.make_opsetid(QONNX_DOMAINS[0], 1))
    return helper.make_model(g, opset_imports=opsets, producer_name="imcsim")
