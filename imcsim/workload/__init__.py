"""Workloads: graph IR, native format, ONNX import, zoo, quantizers, statistics (no hardware).

Public entry points (imported on first use, so `import imcsim.workload` stays cheap and
`onnx` is only imported by the ONNX functions):

    load_network(name_or_path, sparsity=None, seed=0) -> Network
    read_native(path) -> Graph;  write_native(graph, path) -> Path
    import_onnx(path) -> Graph;  graph_to_onnx(graph) -> onnx.ModelProto
    workload_info(network) -> dict;  workload_info_text(info) -> str
    import_to_native(onnx_path, out_path) -> Path
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from imcsim.workload.layer import ComputeLayer, Network

if TYPE_CHECKING:
    from imcsim.workload.info import import_to_native, workload_info, workload_info_text
    from imcsim.workload.loader import load_network
    from imcsim.workload.native import read_native, write_native
    from imcsim.workload.onnx_export import graph_to_onnx
    from imcsim.workload.onnx_import import import_onnx

_LAZY = {
    "load_network": "loader", "read_native": "native", "write_native": "native",
    "import_onnx": "onnx_import", "graph_to_onnx": "onnx_export",
    "workload_info": "info", "workload_info_text": "info", "import_to_native": "info",
}

__all__ = ["ComputeLayer", "Network", "graph_to_onnx", "import_onnx", "import_to_native",
           "load_network", "read_native", "workload_info", "workload_info_text",
           "write_native"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(f"imcsim.workload.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'imcsim.workload' has no attribute {name!r}")
