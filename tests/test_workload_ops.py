"""Conv1d, ConvTranspose, Resize, Einsum, ScatterND and Not in ONNX graphs built with
onnx.helper the way the exporters write them: MACs and element counts against counts
written out here from the layer shapes, output shapes against the ONNX formulas (and
onnx's shape inference), and the functional path against numpy references written here
(and onnx's reference evaluator)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from imcsim.errors import WorkloadError
from imcsim.functional.graph_exec import LinearCall, run_graph
from imcsim.workload import import_onnx, load_network
from imcsim.workload.op_kinds import ACTIVATION, DATA, WEIGHT, graph_work
from imcsim.workload.shapes import infer_shapes

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

RNG = np.random.default_rng(7)
mk = helper.make_node


def _f32(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def _save(tmp_path: Path, nodes: list, inputs: dict[str, list[int]], outputs: list[str],
          inits: dict[str, np.ndarray], opset: int = 17, name: str = "m.onnx") -> Path:
    g = helper.make_graph(
        nodes, "m", [helper.make_tensor_value_info(k, TensorProto.FLOAT, v)
                     for k, v in inputs.items()],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
        [numpy_helper.from_array(v, k) for k, v in inits.items()])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    path = tmp_path / name
    onnx.save(model, str(path))
    return path


def _reference(path: Path, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    return ReferenceEvaluator(str(path)).run(None, feeds)


def _onnx_shape(path: Path, name: str) -> tuple[int, ...]:
    model = onnx.shape_inference.infer_shapes(onnx.load(str(path)), strict_mode=True)
    for vi in [*model.graph.value_info, *model.graph.output]:
        if vi.name == name:
            return tuple(d.dim_value for d in vi.type.tensor_type.shape.dim)
    raise KeyError(name)


def _run(path: Path, feeds: dict[str, np.ndarray], hook=None) -> dict[str, np.ndarray]:
    return run_graph(import_onnx(path), feeds, hook)


# --- Conv1d --------------------------------------------------------------------------

def _conv1d_ref(x, w, b, stride: int, pads: tuple[int, int], dil: int, group: int):
    """Direct sum: y[n, o, t] = b[o] + sum_{c, j} x[n, g(o) cg + c, t s + j d - p] w[o, c, j]."""
    n, c, length = x.shape
    o, cg, k = w.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), pads))
    out = (length + sum(pads) - dil * (k - 1) - 1) // stride + 1
    y = np.zeros((n, o, out))
    for oc in range(o):
        g = oc // (o // group)
        for t in range(out):
            for ci in range(cg):
                for j in range(k):
                    y[:, oc, t] += xp[:, g * cg + ci, t * stride + j * dil] * w[oc, ci, j]
    return y + b[None, :, None]


@pytest.mark.parametrize("stride,pads,dil,group,opset",
                         [(1, (1, 1), 1, 1, 13), (2, (2, 1), 2, 2, 17), (3, (0, 0), 1, 4, 11)])
def test_conv1d_macs_shape_and_values(tmp_path: Path, stride, pads, dil, group, opset) -> None:
    """A rank-3 Conv (nn.Conv1d) is a 2-D conv over a 1 x L input with (1, k) kernels:
    MACs = L_out x out_channels x in_channels/group x k, L_out from the ONNX formula."""
    c, o, k, length = 8, 12, 3, 23
    nodes = [mk("Conv", ["x", "w", "b"], ["c"], name="conv", kernel_shape=[k],
                strides=[stride], pads=list(pads), dilations=[dil], group=group),
             mk("Relu", ["c"], ["r"], name="relu"),
             mk("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2], strides=[2]),
             mk("GlobalAveragePool", ["p"], ["y"], name="gap")]
    inits = {"w": _f32(o, c // group, k), "b": _f32(o)}
    path = _save(tmp_path, nodes, {"x": [1, c, length]}, ["y", "c"], inits, opset)
    out = (length + pads[0] + pads[1] - dil * (k - 1) - 1) // stride + 1
    net = load_network(str(path))
    (layer,) = net.layers
    assert (layer.kind, layer.kernel, layer.in_hw, layer.out_hw) == \
        ("conv", (1, k), (1, length), (1, out))
    assert (layer.stride, layer.dilation, layer.padding, layer.groups) == \
        ((1, stride), (1, dil), (0, pads[0], 0, pads[1]), group)
    assert layer.macs == out * o * (c // group) * k
    assert layer.weight_count == o * (c // group) * k
    shapes = infer_shapes(import_onnx(path))
    assert shapes["c"] == _onnx_shape(path, "c") == (1, o, out)
    assert shapes["p"] == (1, o, (out - 2) // 2 + 1) and shapes["y"] == (1, o, 1)
    pool = next(w for w in net.other_ops if w.op == "MaxPool")
    assert pool.elements == o * ((out - 2) // 2 + 1) * 2
    x = _f32(2, c, length)  # a batch of two
    env = _run(path, {"x": x})
    np.testing.assert_allclose(env["c"], _conv1d_ref(x, inits["w"], inits["b"], stride, pads,
                                                     dil, group), rtol=1e-5, atol=1e-5)
    for name, want in zip(("y", "c"), _reference(path, {"x": x}), strict=True):
        np.testing.assert_allclose(env[name], want, rtol=1e-5, atol=1e-5)


def test_conv1d_hook_sees_the_lowered_layer(tmp_path: Path) -> None:
    """The linear hook of a 1-D Conv gets im2col rows of the (1, k) kernel: (L_out, C k)."""
    nodes = [mk("Conv", ["x", "w"], ["y"], name="conv", kernel_shape=[5], pads=[2, 2])]
    path = _save(tmp_path, nodes, {"x": [1, 3, 10]}, ["y"], {"w": _f32(4, 3, 5)})
    seen: list[tuple[int, int]] = []

    def hook(call: LinearCall) -> np.ndarray:
        seen.append(call.rows.shape)
        return call.rows @ call.weights.T

    _run(path, {"x": _f32(1, 3, 10)}, hook)
    assert seen == [(10, 15)]


# --- ConvTranspose ---------------------------------------------------------------------

def _convt_ref(x, w, b, strides, dil, top_left, out_hw):
    """Scatter every input pixel and tap: y[n, g og + o, y s + ky d - top, x s + kx d -
    left] += x[n, c, y, x] w[c, o, ky, kx], for c in group g."""
    n, c, h, wd = x.shape
    _, og, kh, kw = w.shape
    y = np.zeros((n, b.size, *out_hw))
    groups = b.size // og
    cg = c // groups
    for ci in range(c):
        g = ci // cg
        for o in range(og):
            for iy in range(h):
                for ix in range(wd):
                    for ky in range(kh):
                        for kx in range(kw):
                            oy = iy * strides[0] + ky * dil[0] - top_left[0]
                            ox = ix * strides[1] + kx * dil[1] - top_left[1]
                            if 0 <= oy < out_hw[0] and 0 <= ox < out_hw[1]:
                                y[:, g * og + o, oy, ox] += x[:, ci, iy, ix] * w[ci, o, ky, kx]
    return y + b[None, :, None, None]


CONVT = [  # strides, pads (t, l, b, r), output_padding, dilations, group, extra attrs
    ((2, 2), (0, 0, 0, 0), (0, 0), (1, 1), 1, {}),  # U-Net's ConvTranspose2d(k=2, s=2)
    ((2, 3), (1, 0, 2, 1), (1, 2), (1, 1), 1, {}),
    ((1, 2), (0, 1, 0, 1), (0, 1), (2, 1), 2, {}),
    ((2, 2), None, (1, 0), (1, 1), 1, {"output_shape": [10, 11]}),
    ((2, 2), None, (0, 0), (1, 1), 2, {"auto_pad": "SAME_UPPER"}),
    ((3, 1), None, (0, 0), (1, 1), 1, {"auto_pad": "SAME_LOWER"}),
]


@pytest.mark.parametrize("strides,pads,extra,dil,group,attrs", CONVT)
def test_conv_transpose_macs_shape_and_values(tmp_path: Path, strides, pads, extra, dil,
                                              group, attrs) -> None:
    """ConvTranspose: MACs = in_pixels x in_channels x out_channels/group x kh x kw; the
    output size s (in - 1) + output_padding + (k - 1) d + 1 - pads (or output_shape;
    SAME: in x s); the lowered layer is a 1x1 conv with O kh kw outputs per pixel."""
    c, og, kh, kw, h, w = 4, 3, 3, 2, 4, 5
    kwargs = dict(strides=list(strides), output_padding=list(extra), dilations=list(dil),
                  group=group, kernel_shape=[kh, kw], **attrs)
    if pads is not None:
        kwargs["pads"] = list(pads)
    nodes = [mk("ConvTranspose", ["x", "w", "b"], ["y"], name="up", **kwargs)]
    inits = {"w": _f32(c, og, kh, kw), "b": _f32(og * group)}
    path = _save(tmp_path, nodes, {"x": [1, c, h, w]}, ["y"], inits)
    full = [strides[a] * ((h, w)[a] - 1) + extra[a] + ((kh, kw)[a] - 1) * dil[a] + 1
            for a in range(2)]
    if "output_shape" in attrs or "auto_pad" in attrs:
        target = attrs.get("output_shape") or [h * strides[0], w * strides[1]]
        total = [full[a] - target[a] for a in range(2)]
        upper = attrs.get("auto_pad") == "SAME_UPPER"
        top_left = [t // 2 if upper else t - t // 2 for t in total]
        out_hw = tuple(target)
    else:
        top_left = [pads[0], pads[1]]
        out_hw = (full[0] - pads[0] - pads[2], full[1] - pads[1] - pads[3])
    net = load_network(str(path))
    (layer,) = net.layers
    assert layer.macs == h * w * c * og * kh * kw  # = input pixels x C x O/g x kh x kw
    assert layer.weight_count == c * og * kh * kw
    assert (layer.kind, layer.kernel, layer.in_hw, layer.out_hw, layer.groups) == \
        ("conv", (1, 1), (h, w), (h, w), group)
    assert (layer.in_channels, layer.out_channels) == (c, og * group * kh * kw)
    assert infer_shapes(import_onnx(path))["y"] == (1, og * group, *out_hw)
    if group == 1 and "auto_pad" not in attrs:
        assert _onnx_shape(path, "y") == (1, og, *out_hw)
    x = _f32(1, c, h, w)
    got = _run(path, {"x": x})["y"]
    want = _convt_ref(x, inits["w"], inits["b"], strides, dil, top_left, out_hw)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    if group == 1:  # onnx's reference evaluator mixes up groups
        np.testing.assert_allclose(got, _reference(path, {"x": x})[0], rtol=1e-5, atol=1e-5)


def test_conv_transpose_1d_bn_folding_and_quantized_levels(tmp_path: Path) -> None:
    """ConvTranspose1d; a BatchNormalization after it folds into the per-(channel, tap)
    scale; DequantizeLinear int8 weights (axis 1: output channels) keep their levels."""
    c, o, k, length = 3, 4, 3, 6
    levels = RNG.integers(-3, 4, size=(c, o, k)).astype(np.int8)
    step = np.array([0.5, 0.25, 1.0, 2.0], np.float32)
    gamma, var = _f32(o) ** 2 + 0.5, _f32(o) ** 2 + 1
    nodes = [mk("DequantizeLinear", ["wq", "ws"], ["w"], name="dq", axis=1),
             mk("ConvTranspose", ["x", "w"], ["t"], name="up", strides=[2]),
             mk("BatchNormalization", ["t", "g", "beta", "mu", "var"], ["y"], name="bn")]
    inits = {"wq": levels, "ws": step, "g": gamma, "beta": _f32(o), "mu": _f32(o),
             "var": var}
    path = _save(tmp_path, nodes, {"x": [1, c, length]}, ["y"], inits, opset=19)
    out = 2 * (length - 1) + k
    assert infer_shapes(import_onnx(path))["y"] == _onnx_shape(path, "y") == (1, o, out)
    (layer,) = load_network(str(path)).layers
    assert layer.macs == length * c * o * k and layer.weight_bits == 8 and layer.has_bias
    rows = np.transpose(levels, (1, 2, 0)).reshape(o * k, c)  # (o, tap) rows, c inputs
    np.testing.assert_array_equal(layer.weights[:, :, 0, 0], rows)
    m = gamma / np.sqrt(var + 1e-5)
    np.testing.assert_allclose(layer.scale, np.repeat(step * m, k), rtol=1e-6)
    x = _f32(1, c, length)
    np.testing.assert_allclose(_run(path, {"x": x})["y"], _reference(path, {"x": x})[0],
                               rtol=1e-4, atol=1e-4)


def test_conv_transpose_bad_weight_is_one_line(tmp_path: Path) -> None:
    nodes = [mk("ConvTranspose", ["x", "w"], ["y"], name="up", group=2)]
    path = _save(tmp_path, nodes, {"x": [1, 4, 3, 3]}, ["y"], {"w": _f32(3, 2, 2, 2)})
    with pytest.raises(WorkloadError, match="node up \\(ConvTranspose\\)") as err:
        load_network(str(path))
    assert "\n" not in str(err.value)


# --- Resize ----------------------------------------------------------------------------

def _resize(tmp_path: Path, shape: list[int], *, scales=None, sizes=None, roi=None,
            opset: int = 19, **attrs) -> Path:
    inits: dict[str, np.ndarray] = {}
    names = ["x", "", "", ""]
    for i, (key, value, dtype) in enumerate((("roi", roi, np.float32),
                                             ("scales", scales, np.float32),
                                             ("sizes", sizes, np.int64)), start=1):
        if value is not None:
            inits[key] = np.asarray(value, dtype)
            names[i] = key
    while not names[-1]:
        names.pop()
    nodes = [mk("Resize", names, ["y"], name="resize", **attrs)]
    return _save(tmp_path, nodes, {"x": shape}, ["y"], inits, opset,
                 name=f"r{len(list(tmp_path.iterdir()))}.onnx")


RESIZE_SHAPES = [  # input, kwargs, expected output (the spec's formulas, done by hand)
    ([1, 3, 5, 7], {"scales": [1, 1, 2, 1.5]}, (1, 3, 10, 10)),  # floor(7 x 1.5) = 10
    ([1, 3, 5, 7], {"scales": [1, 1, 0.5, 0.3]}, (1, 3, 2, 2)),  # floor(2.5), floor(2.1)
    ([1, 3, 5, 7], {"sizes": [1, 3, 8, 4]}, (1, 3, 8, 4)),
    ([1, 3, 5, 7], {"sizes": [10, 10], "axes": [2, 3],
                    "keep_aspect_ratio_policy": "not_larger"}, (1, 3, 7, 10)),  # s = 10/7
    ([1, 3, 5, 7], {"sizes": [10, 10], "axes": [2, 3],
                    "keep_aspect_ratio_policy": "not_smaller"}, (1, 3, 10, 14)),  # s = 2
    ([1, 2, 6], {"scales": [3.0], "axes": [2]}, (1, 2, 18)),
]


@pytest.mark.parametrize("shape,kwargs,expected", RESIZE_SHAPES)
def test_resize_shapes_are_data_movement(tmp_path: Path, shape, kwargs, expected) -> None:
    path = _resize(tmp_path, shape, mode="linear", **kwargs)
    graph = import_onnx(path)
    shapes = infer_shapes(graph)
    assert shapes["y"] == _onnx_shape(path, "y") == expected
    (work,) = graph_work(graph, shapes)
    assert (work.kind, work.macs, work.elements) == (DATA, 0, math.prod(expected))
    x = _f32(*shape)
    np.testing.assert_allclose(run_graph(graph, {"x": x})["y"],
                               _reference(path, {"x": x})[0], rtol=1e-5, atol=1e-5)


RESIZE_MODES = [
    {"mode": "nearest"},
    {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"},
    {"mode": "nearest", "coordinate_transformation_mode": "align_corners",
     "nearest_mode": "round_prefer_ceil"},
    {"mode": "nearest", "coordinate_transformation_mode": "half_pixel", "nearest_mode": "ceil"},
    {"mode": "linear"},
    {"mode": "linear", "coordinate_transformation_mode": "align_corners"},
    {"mode": "linear", "coordinate_transformation_mode": "pytorch_half_pixel"},
    {"mode": "linear", "coordinate_transformation_mode": "asymmetric"},
    {"mode": "linear", "coordinate_transformation_mode": "half_pixel_symmetric"},
    {"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize",
     "extrapolation_value": 7.0, "roi": [0, 0, -0.2, 0.1, 1, 1, 0.8, 1.3]},
    {"mode": "linear", "antialias": 1},
    {"mode": "cubic"},
    {"mode": "cubic", "cubic_coeff_a": -0.5, "exclude_outside": 1},
    {"mode": "cubic", "antialias": 1, "coordinate_transformation_mode": "align_corners"},
]


@pytest.mark.parametrize("attrs", RESIZE_MODES)
@pytest.mark.parametrize("scales", [[1, 1, 2.5, 1.75], [1, 1, 0.6, 0.5]])
def test_resize_values_match_onnx_reference(tmp_path: Path, attrs, scales) -> None:
    attrs = dict(attrs)
    roi = attrs.pop("roi", None)
    path = _resize(tmp_path, [1, 2, 5, 6], scales=scales, roi=roi, **attrs)
    x = _f32(1, 2, 5, 6)
    got = _run(path, {"x": x})["y"]
    want = _reference(path, {"x": x})[0]
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_resize_against_written_out_formulas(tmp_path: Path) -> None:
    """Nearest, asymmetric, floor by integer scales repeats pixels (PyTorch's
    interpolate(scale_factor=2)); tf_half_pixel_for_nn picks round_half_down((i + 0.5)
    / s); bilinear align_corners interpolates between the corners: y[i] = x[l] (1 - t) +
    x[l + 1] t with l + t = i (n - 1) / (m - 1)."""
    x = _f32(1, 2, 3, 4)
    path = _resize(tmp_path, [1, 2, 3, 4], scales=[1, 1, 2, 3], opset=13, mode="nearest",
                   coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    np.testing.assert_array_equal(_run(path, {"x": x})["y"],
                                  np.repeat(np.repeat(x, 2, axis=2), 3, axis=3))

    # opset 11's tf_half_pixel_for_nn: source (i + 0.5) / s, nearest rounds half down
    path = _resize(tmp_path, [1, 2, 3, 4], scales=[1, 1, 2, 1.5], opset=11, mode="nearest",
                   coordinate_transformation_mode="tf_half_pixel_for_nn", roi=[])
    rows = [min(2, math.ceil((i + 0.5) / 2 - 0.5)) for i in range(6)]
    cols = [min(3, math.ceil((j + 0.5) / 1.5 - 0.5)) for j in range(6)]
    np.testing.assert_array_equal(_run(path, {"x": x})["y"], x[:, :, rows][:, :, :, cols])

    def lerp_matrix(n: int, m: int) -> np.ndarray:
        a = np.zeros((m, n))
        for i in range(m):
            pos = i * (n - 1) / (m - 1)
            lo = min(int(pos), n - 2)
            a[i, lo], a[i, lo + 1] = 1 - (pos - lo), pos - lo
        return a

    path = _resize(tmp_path, [1, 2, 3, 4], sizes=[1, 2, 5, 7], mode="linear",
                   coordinate_transformation_mode="align_corners")
    want = np.einsum("ph,qw,nchw->ncpq", lerp_matrix(3, 5), lerp_matrix(4, 7), x)
    np.testing.assert_allclose(_run(path, {"x": x})["y"], want, rtol=1e-6, atol=1e-6)


def test_upsample_and_resize_10_are_normalised(tmp_path: Path) -> None:
    """Upsample (opset 9) and Resize-10 take scales as input 1; they become Resize-11
    (asymmetric, nearest rounding down): nearest repeats pixels (as onnx's evaluator's
    Upsample does), linear is y[i] = x[l] (1 - t) + x[min(l + 1, n - 1)] t, l + t = i / s
    (onnx's evaluator has no linear Upsample and misreads Resize-10's inputs)."""
    x = _f32(1, 2, 3, 3)

    def asymmetric_linear(n: int, s: float) -> np.ndarray:
        m = np.zeros((int(n * s), n))
        for i in range(len(m)):
            lo, t = int(i / s), i / s - int(i / s)
            m[i, lo] += 1 - t
            m[i, min(lo + 1, n - 1)] += t
        return m

    for op, opset in (("Upsample", 9), ("Resize", 10)):
        for mode in ("nearest", "linear"):
            nodes = [mk(op, ["x", "s"], ["y"], name="up", mode=mode)]
            path = _save(tmp_path, nodes, {"x": [1, 2, 3, 3]}, ["y"],
                         {"s": np.array([1, 1, 2, 3], np.float32)}, opset,
                         name=f"{op}{mode}.onnx")
            graph = import_onnx(path)
            assert [n.op for n in graph.nodes] == ["Resize"]
            assert infer_shapes(graph)["y"] == (1, 2, 6, 9)
            got = run_graph(graph, {"x": x})["y"]
            if mode == "linear":
                want = np.einsum("ph,qw,nchw->ncpq", asymmetric_linear(3, 2),
                                 asymmetric_linear(3, 3), x)
            else:
                want = np.repeat(np.repeat(x, 2, axis=2), 3, axis=3)
            if op == "Upsample" and mode == "nearest":
                np.testing.assert_array_equal(want, _reference(path, {"x": x})[0])
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kwargs,message", [
    ({"scales": [1, 1, 2, 2], "sizes": [1, 1, 4, 4]}, "exactly one of scales and sizes"),
    ({"scales": [2, 2]}, "one value per axis"),
    ({"scales": [1, 1, 2, 2], "mode": "bicubic"}, "unsupported mode 'bicubic'"),
    ({"scales": [1, 1, 2, 2], "coordinate_transformation_mode": "tf_crop_and_resize"},
     "needs roi"),
])
def test_resize_errors_are_one_line(tmp_path: Path, kwargs, message) -> None:
    path = _resize(tmp_path, [1, 1, 3, 3], **kwargs)
    with pytest.raises(WorkloadError, match=message) as err:
        import_onnx(path)
    assert err.value.key == "node resize (Resize)" and "\n" not in str(err.value)


# --- Einsum ----------------------------------------------------------------------------

EINSUM = [  # equation, operand shapes, constant operand (index) or None, MACs by hand
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)], None, 2 * 3 * 4 * 5),
    ("bhqd,bhkd->bhqk", [(1, 2, 5, 4), (1, 2, 6, 4)], None, 2 * 5 * 6 * 4),
    ("ij,jk->ik", [(3, 4), (4, 6)], 1, 3 * 4 * 6),
    ("bij,kj->bik", [(1, 5, 4), (6, 4)], 1, 5 * 4 * 6),
    ("jk,bij->bki", [(4, 6), (2, 5, 4)], 0, 2 * 5 * 4 * 6),
    ("...ij,jk->...ik", [(1, 2, 5, 4), (4, 3)], 1, 2 * 5 * 4 * 3),
    ("...ij,...jk->...ik", [(2, 1, 5, 4), (3, 4, 6)], None, 2 * 3 * 5 * 4 * 6),
    ("bij,bjk", [(2, 3, 4), (2, 4, 5)], None, 2 * 3 * 4 * 5),  # implicit output: bik
]


def _einsum_model(tmp_path: Path, equation: str, shapes: list, constant: int | None
                  ) -> tuple[Path, dict[str, np.ndarray], list[np.ndarray]]:
    """Einsum over graph inputs of batch 1 reshaped to the operand shapes (as exporters
    write a reshape before it), one operand a constant if asked; (path, feeds, operands)."""
    nodes, inputs, inits, feeds, operands = [], {}, {}, {}, []
    for i, shape in enumerate(shapes):
        if i == constant:
            inits[f"in{i}"] = _f32(*shape)
            operands.append(inits[f"in{i}"])
            continue
        inputs[f"x{i}"] = [1, *shape]
        inits[f"shape{i}"] = np.array(shape, np.int64)
        nodes.append(mk("Reshape", [f"x{i}", f"shape{i}"], [f"in{i}"], name=f"rs{i}"))
        feeds[f"x{i}"] = _f32(1, *shape)
        operands.append(feeds[f"x{i}"][0])
    nodes.append(mk("Einsum", ["in0", "in1"], ["y"], name="es", equation=equation))
    return _save(tmp_path, nodes, inputs, ["y"], inits), feeds, operands


@pytest.mark.parametrize("equation,shapes,constant,macs", EINSUM)
def test_einsum_matmuls(tmp_path: Path, equation, shapes, constant, macs) -> None:
    """MACs = the product of every index's size; a constant rank-2 operand makes a
    weight layer (K inputs, N outputs over the other operand's rows)."""
    path, feeds, operands = _einsum_model(tmp_path, equation, shapes, constant)
    want = np.einsum(equation, *(o.astype(np.float64) for o in operands))
    net = load_network(str(path))
    assert net.total_macs + net.activation_macs == macs
    graph = import_onnx(path)
    assert infer_shapes(graph)["y"] == want.shape
    if constant is None:
        assert not net.layers and [o.kind for o in net.other_ops if o.op == "Einsum"] == \
            [ACTIVATION]
    else:
        (layer,) = net.layers
        w_letters = equation.split("->")[0].split(",")[constant]
        other = equation.split("->")[0].split(",")[1 - constant]
        k = shapes[constant][next(i for i, c in enumerate(w_letters) if c in other)]
        n = math.prod(shapes[constant]) // k
        assert (layer.kind, layer.in_channels, layer.out_channels) == ("fc", k, n)
        assert layer.out_hw == (macs // (k * n), 1) and layer.macs == macs
        assert layer.weight_count == k * n
        assert graph_work(graph, infer_shapes(graph))[-1].kind == WEIGHT
    np.testing.assert_allclose(run_graph(graph, feeds)["y"], want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_reference(path, feeds)[0], want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("equation,shapes", [
    ("ii->i", [(3, 3)]), ("ij->ji", [(3, 4)]), ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("ij,ij->ij", [(2, 3), (2, 3)]), ("i,j->ij", [(2,), (3,)]), ("ij,jk->i", [(2, 3), (3, 4)]),
    ("iij,jk->ik", [(2, 2, 3), (3, 4)]),
])
def test_einsum_other_equations_refused(tmp_path: Path, equation, shapes) -> None:
    names = [f"in{i}" for i in range(len(shapes))]
    nodes = [mk("Einsum", names, ["y"], name="es", equation=equation)]
    path = _save(tmp_path, nodes, {n: list(s) for n, s in zip(names, shapes, strict=True)},
                 ["y"], {})
    with pytest.raises(WorkloadError, match="is not a matrix product") as err:
        import_onnx(path)
    assert err.value.key == "node es (Einsum)" and "\n" not in str(err.value)
    assert f"Einsum equation {equation!r}" in str(err.value)


def test_einsum_bad_constant_operand_names_the_equation(tmp_path: Path) -> None:
    nodes = [mk("Einsum", ["x", "w"], ["y"], name="es", equation="bij,bjk->bik")]
    path = _save(tmp_path, nodes, {"x": [2, 3, 4]}, ["y"], {"w": _f32(2, 4, 5)})
    with pytest.raises(WorkloadError, match="'bij,bjk->bik': a constant operand must be"):
        import_onnx(path)


# --- ScatterND and Not -------------------------------------------------------------------

def test_swin_window_mask_folds(tmp_path: Path) -> None:
    """Swin's attention mask, as the legacy exporter writes it: img_mask[:, h, w, :] = cnt
    (ScatterND on a ConstantOfShape), mask != 0 (Equal then Not), Where: every node of
    it folds away; the masked Add computes the mask numpy gives."""
    h = w = 4
    idx = np.array([[[0, i, j] for j in range(2, 4)] for i in range(2, 4)], np.int64)
    nodes = [mk("ConstantOfShape", ["shape"], ["zeros"], name="cos",
                value=numpy_helper.from_array(np.zeros(1, np.float32))),
             mk("ScatterND", ["zeros", "idx", "upd"], ["img"], name="scatter"),
             mk("Reshape", ["img", "flat"], ["m"], name="rs"),
             mk("Equal", ["m", "zero"], ["eq"], name="eq"),
             mk("Not", ["eq"], ["ne"], name="not"),
             mk("Where", ["ne", "neg", "zero"], ["mask"], name="where"),
             mk("Add", ["x", "mask"], ["y"], name="add")]
    inits = {"shape": np.array([1, h, w, 3], np.int64), "idx": idx,
             "upd": np.full((2, 2, 3), 3.0, np.float32), "flat": np.array([1, h * w * 3],
                                                                         np.int64),
             "zero": np.zeros((), np.float32), "neg": np.array(-100.0, np.float32)}
    path = _save(tmp_path, nodes, {"x": [1, h * w * 3]}, ["y"], inits, opset=13)
    graph = import_onnx(path)
    assert [n.op for n in graph.nodes] == ["Add"]
    img = np.zeros((1, h, w, 3))
    img[:, 2:, 2:, :] = 3.0
    mask = np.where(img.reshape(1, -1) != 0, -100.0, 0.0)
    x = _f32(1, h * w * 3)
    np.testing.assert_allclose(run_graph(graph, {"x": x})["y"], x + mask, rtol=1e-6)


def test_scatter_nd_and_not_on_activations(tmp_path: Path) -> None:
    nodes = [mk("ScatterND", ["x", "idx", "upd"], ["s"], name="scatter", reduction="add"),
             mk("Greater", ["s", "zero"], ["gt"], name="gt"),
             mk("Not", ["gt"], ["y"], name="not")]
    inits = {"idx": np.array([[0, 1], [0, 3], [0, 1]], np.int64), "upd": _f32(3, 5),
             "zero": np.zeros((), np.float32)}
    g = helper.make_graph(nodes, "m", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                     [1, 4, 5])],
                          [helper.make_tensor_value_info("s", TensorProto.FLOAT, None),
                           helper.make_tensor_value_info("y", TensorProto.BOOL, None)],
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    path = tmp_path / "s.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)]), str(path))
    graph = import_onnx(path)
    works = {w.op: w for w in graph_work(graph, infer_shapes(graph))}
    assert (works["ScatterND"].kind, works["ScatterND"].elements) == (DATA, 20)
    x = _f32(1, 4, 5)
    want = x.astype(np.float64).copy()
    for i, row in zip((1, 3, 1), inits["upd"], strict=True):
        want[0, i] += row
    env = run_graph(graph, {"x": x})
    np.testing.assert_allclose(env["s"], want, rtol=1e-6)
    np.testing.assert_array_equal(env["y"], want <= 0)
    s_ref, y_ref = _reference(path, {"x": x})
    np.testing.assert_allclose(env["s"], s_ref, rtol=1e-6)
    np.testing.assert_array_equal(env["y"].astype(bool), y_ref)


def test_refused_einsum_cli_one_line_exit_2(tmp_path: Path) -> None:
    import subprocess
    import sys

    nodes = [mk("Einsum", ["x", "w"], ["y"], name="es", equation="bij,jk->bj")]
    path = _save(tmp_path, nodes, {"x": [1, 3, 4]}, ["y"], {"w": _f32(4, 5)})
    proc = subprocess.run([sys.executable, "-m", "imcsim.cli", "workload", "info", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert str(path) in line and "node es (Einsum)" in line and "'bij,jk->bj'" in line
