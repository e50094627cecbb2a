"""The native graph format: a readable YAML (or JSON) graph plus an `.npz` of weights.

    format: imcsim-graph
    version: 1
    name: resnet20
    weights: resnet20.npz            # beside this file (default: same stem + .npz)
    inputs:
    - {name: input, shape: [1, 3, 32, 32], dtype: float32}
    outputs: [fc]
    initializers:
    - {name: conv1.weight, shape: [16, 3, 3, 3], dtype: float32, encoding: float32}
    - {name: q.weight, shape: [8, 4, 3, 3], dtype: int8, encoding: ternary2, bits: 2,
       scale_shape: [8, 1, 1, 1]}
    nodes:
    - {name: conv1, op: Conv, inputs: [input, conv1.weight], outputs: [conv1],
       attrs: {kernel_shape: [3, 3], pads: [1, 1, 1, 1]}}

Ops and attributes are those of the graph IR (ONNX opset 17 + QONNX Quant, see
`graph`). Attribute values are ints, floats, strings (or bools), or lists of them.
The npz holds array `data/<name>` for each initializer and `scale/<name>` for each
scaled (quantized) one. Encodings of `data/<name>`:

    float32   the float32 array as is
    int8      integer levels as int8
    ternary2  levels in {-1, 0, +1} packed 4 per byte (2 bits each, first element in the
              low bits; codes 0 -> 0, 1 -> +1, 3 -> -1), uint8 of length ceil(n / 4)
    raw       any other numeric dtype (e.g. int64 shape constants) as is

Scales are stored with their own dtype (float32 from the importer). `write_native` then
`read_native` gives back an identical graph (`graph.graph_equal`). No optional
dependency: PyYAML and numpy only.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from imcsim.atomic import atomic_write, atomic_write_stream
from imcsim.config.yaml_file import parse_yaml, read_text_file
from imcsim.errors import WorkloadError
from imcsim.workload.graph import Graph, Node, Tensor
from imcsim.workload.native_check import DocChecker

FORMAT, VERSION = "imcsim-graph", 1
ENCODINGS = ("float32", "int8", "ternary2", "raw")
_TOP = {"format": True, "version": True, "name": True, "weights": False, "inputs": True,
        "outputs": True, "initializers": True, "nodes": True}
_INPUT = {"name": True, "shape": True, "dtype": False}
_INIT = {"name": True, "shape": True, "dtype": True, "encoding": True, "bits": False,
         "scale_shape": False}
_NODE = {"name": True, "op": True, "inputs": True, "outputs": True, "attrs": False}
MAX_DOC_BYTES = 64 * 1024 * 1024  # a graph document (weights live in the .npz)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_TERNARY_DECODE = np.array([0, 1, 0, -1], np.int8)


# ---------------------------------------------------------------- ternary packing


def pack_ternary(levels: np.ndarray) -> np.ndarray:
    """Levels in {-1, 0, +1} -> uint8, 4 per byte (first element in the low 2 bits)."""
    codes = (np.asarray(levels, np.int8).ravel() & 3).astype(np.uint8)
    codes = np.concatenate([codes, np.zeros(-codes.size % 4, np.uint8)]).reshape(-1, 4)
    return codes[:, 0] | (codes[:, 1] << 2) | (codes[:, 2] << 4) | (codes[:, 3] << 6)


def unpack_ternary(packed: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of `pack_ternary`; raises ValueError on a wrong length or code 2."""
    n = math.prod(shape)
    if packed.dtype != np.uint8 or packed.ndim != 1 or packed.size != -(-n // 4):
        raise ValueError(f"packed ternary data must be uint8 of length {-(-n // 4)}, got "
                         f"{packed.dtype} {list(packed.shape)}")
    codes = np.stack([(packed >> s) & 3 for s in (0, 2, 4, 6)], axis=1).ravel()[:n]
    if np.any(codes == 2):
        raise ValueError("packed ternary data holds the invalid code 2")
    return _TERNARY_DECODE[codes].reshape(shape)


# ---------------------------------------------------------------- writing


def _is_ternary(data: np.ndarray) -> bool:
    return data.dtype == np.int8 and bool(np.all((data >= -1) & (data <= 1)))


def _encoding(data: np.ndarray) -> str:
    if data.dtype == np.float32:
        return "float32"
    if data.dtype == np.int8:
        return "ternary2" if _is_ternary(data) else "int8"
    return "raw"


def _plain(value: Any, key: str, src: str) -> Any:
    """An attribute value as plain YAML/JSON data (numpy scalars become Python ones)."""
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return value.item()
    if isinstance(value, list):
        return [_plain(v, key, src) for v in value]
    raise WorkloadError(f"attribute value {value!r} is not an int, float, string or a list of "
                        f"them", source=src, key=key)


def _document(graph: Graph, weights: str, src: str) -> tuple[dict, dict[str, np.ndarray]]:
    """The YAML/JSON document of `graph` and the arrays of its npz."""
    arrays: dict[str, np.ndarray] = {}
    inits = []
    for name, t in graph.initializers.items():
        key = f"initializer {name}"
        data = t.data  # read once (a deferred zoo weight is drawn on each read)
        if data is None:
            raise WorkloadError("initializer has no data", source=src, key=key)
        if data.dtype.kind not in "biuf" or np.dtype(t.dtype) != data.dtype:
            raise WorkloadError(f"declared dtype {t.dtype} vs data {data.dtype} (numeric "
                                f"dtypes only)", source=src, key=key)
        enc = _encoding(data)
        entry: dict[str, Any] = {"name": name, "shape": list(data.shape),
                                 "dtype": t.dtype, "encoding": enc}
        arrays[f"data/{name}"] = pack_ternary(data) if enc == "ternary2" else data
        if t.bits is not None:
            entry["bits"] = int(t.bits)
        if t.scale is not None:
            entry["scale_shape"] = list(np.shape(t.scale))
            arrays[f"scale/{name}"] = np.asarray(t.scale)
        inits.append(entry)
    doc = {
        "format": FORMAT, "version": VERSION, "name": graph.name, "weights": weights,
        "inputs": [{"name": t.name, "shape": None if t.shape is None else list(t.shape),
                    "dtype": t.dtype} for t in graph.inputs],
        "outputs": list(graph.outputs),
        "initializers": inits,
        "nodes": [_node_entry(n, src) for n in graph.nodes],
    }
    return doc, arrays


def _node_entry(n: Node, src: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": n.name, "op": n.op, "inputs": list(n.inputs),
                             "outputs": list(n.outputs)}
    if n.attrs:
        entry["attrs"] = {k: _plain(v, f"node {n.name} ({n.op})", src)
                          for k, v in n.attrs.items()}
    return entry


def _flow(obj: Any) -> str:
    """`obj` as one line of YAML flow style."""
    return yaml.dump(obj, Dumper=_DUMPER, default_flow_style=True, sort_keys=False,
                     width=2**31 - 1, allow_unicode=True).rstrip("\n").removesuffix("\n...")


def _yaml_text(doc: dict) -> str:
    """Block-style top level, one flow-style line per input, initializer and node."""
    lines = []
    for key, value in doc.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            lines.append(f"{key}:")
            lines.extend(f"- {_flow(entry)}" for entry in value)
        else:
            lines.append(_flow({key: value})[1:-1])  # strip the braces of {key: value}
    return "\n".join(lines) + "\n"


def _json_text(doc: dict) -> str:
    """Like `_yaml_text`: one line per input, initializer and node."""
    parts = []
    for key, value in doc.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            body = ",\n".join(f"  {json.dumps(entry)}" for entry in value)
            parts.append(f" {json.dumps(key)}: [\n{body}\n ]")
        else:
            parts.append(f" {json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def write_native(graph: Graph, path: str | Path) -> Path:
    """Write `graph` to `path` (.yaml/.yml/.json) and its weights to `<stem>.npz` beside it.

    Both files are written atomically (temporary name, then rename), the npz first.
    Returns `path`. Raises WorkloadError for another suffix or unwritable data.
    """
    path = Path(path)
    src = str(path)
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise WorkloadError("native graph files end in .yaml, .yml or .json", source=src)
    npz = path.with_suffix(".npz")
    doc, arrays = _document(graph, npz.name, src)
    text = _json_text(doc) if suffix == ".json" else _yaml_text(doc)
    # mypy cannot tell that no key of `arrays` ("data/...", "scale/...") is savez's
    # allow_pickle keyword
    atomic_write_stream(npz, lambda fh: np.savez(fh, **arrays),  # type: ignore[arg-type]
                        WorkloadError)
    atomic_write(path, text, WorkloadError)
    return path


# ---------------------------------------------------------------- reading


def _load_doc(path: Path) -> Any:
    """The graph document: a regular UTF-8 file of at most MAX_DOC_BYTES, parsed without
    aliases, duplicate keys or nesting beyond the config reader's limit."""
    src = str(path)
    text = read_text_file(path, error=WorkloadError, max_bytes=MAX_DOC_BYTES)
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text, object_pairs_hook=_unique_keys(src))
        except json.JSONDecodeError as exc:
            raise WorkloadError(f"malformed JSON: {exc.msg} (line {exc.lineno}, column "
                                f"{exc.colno})", source=src) from None
        except RecursionError:
            raise WorkloadError("nested too deeply", source=src) from None
    return parse_yaml(text, src, WorkloadError)


def _unique_keys(src: str) -> Any:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise WorkloadError(f"duplicate key {key!r}", source=src)
            out[key] = value
        return out
    return pairs


def _open_npz(npz: Path, src: str) -> Any:
    if not npz.is_file():
        raise WorkloadError(f"weights file '{npz}' not found", source=src, key="weights")
    try:
        return np.load(npz, allow_pickle=False)
    except Exception as exc:  # zipfile/zlib/numpy raise many types on a corrupt file
        raise WorkloadError(f"not a readable .npz file (truncated or corrupt): "
                            f"{type(exc).__name__}: {exc}", source=str(npz)) from None


def _member_nbytes(z: Any, key: str) -> int | None:
    """Bytes the .npy member `key` of npz `z` declares in its header (None if unreadable),
    read without inflating the data."""
    try:
        with z.zip.open(f"{key}.npy") as fh:
            version = np.lib.format.read_magic(fh)
            read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                    else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read(fh)
        return int(np.prod(shape, dtype=np.int64)) * int(dtype.itemsize)
    except Exception:  # a corrupt header: reading the array reports it
        return None


def _array(z: Any, key: str, npz: str, name: str, max_bytes: int | None = None
           ) -> np.ndarray:
    if key not in z.files:
        raise WorkloadError(f"array '{key}' is missing from the weights file", source=npz,
                            key=f"initializer {name}")
    declared = _member_nbytes(z, key)
    if max_bytes is not None and declared is not None and declared > max_bytes:
        raise WorkloadError(f"array '{key}' declares {declared:,} bytes, more than the "
                            f"graph's tensor needs ({max_bytes:,}); not reading it",
                            source=npz, key=f"initializer {name}")
    try:
        arr = z[key]
    except Exception as exc:  # a truncated member raises zlib/zipfile/EOF/Value errors
        raise WorkloadError(f"cannot read array '{key}' (truncated or corrupt file): "
                            f"{type(exc).__name__}: {exc}", source=npz,
                            key=f"initializer {name}") from None
    if not isinstance(arr, np.ndarray):  # np.load returns the raw bytes of a non-.npy member
        raise WorkloadError(f"member '{key}' is not a .npy array (corrupt file)", source=npz,
                            key=f"initializer {name}")
    return arr


def _decode(spec: dict, z: Any, npz: str) -> Tensor:
    name, shape, enc = spec["name"], tuple(spec["shape"]), spec["encoding"]
    key = f"initializer {name}"
    want = np.dtype(spec["dtype"])
    count = math.prod(shape)
    stored_bytes = -(-count // 4) if enc == "ternary2" else count * max(want.itemsize, 4)
    raw = _array(z, f"data/{name}", npz, name, stored_bytes)
    if enc == "ternary2":
        try:
            data = unpack_ternary(raw, shape)
        except ValueError as exc:
            raise WorkloadError(str(exc), source=npz, key=key) from None
    else:
        data = raw
        stored = {"float32": np.dtype(np.float32), "int8": np.dtype(np.int8)}.get(enc, want)
        if data.dtype != stored:
            raise WorkloadError(f"array dtype {data.dtype} disagrees with the graph's "
                                f"{stored}", source=npz, key=key)
        if data.shape != shape:
            raise WorkloadError(f"array shape {list(data.shape)} disagrees with the graph's "
                                f"{list(shape)}", source=npz, key=key)
    scale = None
    if spec.get("scale_shape") is not None:
        scale = _array(z, f"scale/{name}", npz, name,
                       8 * math.prod(tuple(spec["scale_shape"])))
        if scale.shape != tuple(spec["scale_shape"]) or scale.dtype.kind != "f":
            raise WorkloadError(f"scale array {scale.dtype} {list(scale.shape)} disagrees "
                                f"with the graph's float {spec['scale_shape']}", source=npz,
                                key=key)
    return Tensor(name, shape, spec["dtype"], data, scale, spec.get("bits"))


def read_native(path: str | Path) -> Graph:
    """Read a native graph file (.yaml/.yml/.json) and the npz it names.

    Raises WorkloadError naming the file and key path for malformed YAML/JSON, an unknown
    or missing key, a wrong type, a missing npz or array, an array whose shape or dtype
    disagrees with the graph (key "initializer NAME"), or a truncated npz.
    """
    path = Path(path)
    src = str(path)
    doc = _load_doc(path)
    c = DocChecker(src)
    c.mapping(doc, "", _TOP)
    if doc["format"] != FORMAT or doc["version"] != VERSION:
        raise WorkloadError(f"expected format {FORMAT!r} version {VERSION}, got "
                            f"{doc['format']!r} version {doc['version']!r}", source=src,
                            key="format")
    inputs = [Tensor(d["name"], d["shape"] if d["shape"] is None else tuple(d["shape"]),
                     d.get("dtype", "float32"))
              for d in c.entries(doc, "inputs", _INPUT, c.input_entry)]
    specs = c.entries(doc, "initializers", _INIT, c.init_entry)
    nodes = [Node(d["name"], d["op"], list(d["inputs"]), list(d["outputs"]),
                  dict(d.get("attrs") or {}))
             for d in c.entries(doc, "nodes", _NODE, c.node_entry)]
    outputs = c.names(doc["outputs"], "outputs")
    c.string(doc["name"], "name")
    initializers: dict[str, Tensor] = {}
    if specs:
        weights = doc.get("weights") or path.with_suffix(".npz").name
        c.string(weights, "weights")
        npz = path.parent / weights
        with _open_npz(npz, src) as z:
            for spec in specs:
                initializers[spec["name"]] = _decode(spec, z, str(npz))
    return Graph(doc["name"], inputs, outputs, nodes, initializers)
