"""workload_info / workload_info_text, import_to_native, lazy imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from imcsim.errors import WorkloadError
from imcsim.workload import (
    import_onnx,
    import_to_native,
    load_network,
    read_native,
    workload_info,
    workload_info_text,
)
from imcsim.workload.graph import graph_equal

_LAYER_KEYS = {"name", "op", "kind", "input_shape", "output_shape", "kernel", "stride",
               "groups", "macs", "params", "weight_bits", "sparsity", "weight"}


def test_info_resnet20() -> None:
    net = load_network("resnet20")
    info = workload_info(net)
    assert json.loads(json.dumps(info)) == info  # plain JSON data
    assert {k: info[k] for k in ("name", "source", "total_macs", "total_params")} == {
        "name": "resnet20", "source": "resnet20", "total_macs": 40_813_184,
        "total_params": 272_474}
    assert info["quantizer"] == net.quantizer and info["input_shape"] == [3, 32, 32]
    assert len(info["layers"]) == 22 and set(info["layers"][0]) == _LAYER_KEYS
    first, fc = info["layers"][0], info["layers"][-1]
    assert first["input_shape"] == [3, 32, 32] and first["output_shape"] == [16, 32, 32]
    assert (first["op"], first["kind"], first["weight_bits"]) == ("Conv", "conv", 2)
    assert fc["input_shape"] == [64] and fc["output_shape"] == [10] and fc["op"] == "Gemm"
    assert sum(r["macs"] for r in info["layers"]) == info["total_macs"]
    assert (info["weight_macs"], info["activation_macs"]) == (info["total_macs"], 0)
    assert {o["kind"] for o in info["other_ops"]} == {"elementwise", "reduction", "data"}
    for row, layer in zip(info["layers"], net.layers, strict=True):
        assert row["sparsity"] == pytest.approx(1 - np.count_nonzero(layer.weights) / layer.weight_count)


def test_info_text() -> None:
    text = workload_info_text(workload_info(load_network("mobilenetv2")))
    lines = text.splitlines()
    assert lines[0] == "network: mobilenetv2   source: mobilenetv2"
    assert "MACs: 300,774,272   params: 3,504,872" in lines[2]
    header = lines[4].split()
    assert header == ["layer", "op", "kind", "input", "output", "kernel", "MACs", "weights",
                      "bits", "zeros"]
    assert any("3x3/2 g96" in line for line in lines)
    assert lines[-2].split() == ["total", "300,774,272"]
    assert lines[-1].startswith("periphery (untimed): elementwise ")
    assert "(weight MACs: 300,774,272   activation x activation MACs: 0)" in lines[2]
    assert len(lines) == 5 + 53 + 2


def test_import_to_native(tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    from imcsim.workload import graph_to_onnx
    from imcsim.workload.zoo import resnet20

    src = tmp_path / "r20.onnx"
    onnx.save(graph_to_onnx(resnet20()), str(src))
    out = import_to_native(src, tmp_path / "workloads" / "r20.yaml")
    assert out == tmp_path / "workloads" / "r20.yaml"
    assert sorted(p.name for p in out.parent.iterdir()) == ["r20.npz", "r20.yaml"]
    assert graph_equal(read_native(out), import_onnx(src))
    a, b = load_network(str(out)), load_network(str(src))
    assert [la.macs for la in a.layers] == [la.macs for la in b.layers]
    with pytest.raises(WorkloadError) as e:
        import_to_native(tmp_path / "missing.onnx", tmp_path / "x.yaml")
    assert e.value.source == str(tmp_path / "missing.onnx")
    assert not (tmp_path / "x.yaml").exists()


def test_failed_write_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    from imcsim.workload import native
    from imcsim.workload.zoo import resnet20

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(native.np, "savez", boom)
    with pytest.raises(WorkloadError, match="No space left") as e:
        native.write_native(resnet20(), tmp_path / "r.yaml")
    assert e.value.source == str(tmp_path / "r.npz")
    assert list(tmp_path.iterdir()) == []


def test_imports_stay_lazy() -> None:
    code = ("import sys, imcsim.workload as w; "
            "assert 'imcsim.workload.loader' not in sys.modules; "
            "w.load_network('resnet20'); "
            "assert 'onnx' not in sys.modules, 'onnx imported for a zoo network'")
    subprocess.run([sys.executable, "-c", code], check=True)
