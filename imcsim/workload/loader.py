"""`load_network`: a zoo network or a graph file, quantized and lowered to layers."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from functools import partial
from numbers import Real
from pathlib import Path

from imcsim.config.fields import is_int_in
from imcsim.errors import UsageError, WorkloadError
from imcsim.workload.builder import deferred_weights
from imcsim.workload.graph import Graph, trainable_parameter_count
from imcsim.workload.layer import ComputeLayer, Network
from imcsim.workload.lower import Quantizer, lower
from imcsim.workload.op_kinds import WEIGHT, graph_work
from imcsim.workload.quantize import TWN_DELTA_FACTOR, ternarize_to_sparsity, ternarize_twn
from imcsim.workload.shapes import infer_shapes
from imcsim.workload.zoo import DECODERS, MAX_SEQ, SEQUENCE_NETWORKS, ZOO

NATIVE_SUFFIXES = (".yaml", ".yml", ".json")
FILE_SUFFIXES = (*NATIVE_SUFFIXES, ".onnx")


def _check_sparsity(sparsity: object) -> float:
    if isinstance(sparsity, bool) or not isinstance(sparsity, Real):
        raise UsageError(f"sparsity must be a number in [0, 1), got {sparsity!r}",
                         key="sparsity")
    s = float(sparsity)
    if math.isnan(s) or not 0.0 <= s < 1.0:
        raise UsageError(f"sparsity must be in [0, 1), got {sparsity!r}", key="sparsity")
    return s


def _is_file_name(name: str) -> bool:
    return os.sep in name or "/" in name or name.lower().endswith(FILE_SUFFIXES)


def _check_pins(name: str, seq: int | None, input_shapes: Mapping[str, tuple[int, ...]] | None
                ) -> None:
    if seq is not None and not is_int_in(seq, 1):
        raise UsageError(f"must be a positive integer, got {seq!r}", key="seq")
    for key, shape in (input_shapes or {}).items():
        if not shape or not all(is_int_in(d, 1) for d in shape):
            raise UsageError(f"shape of {key!r} must be positive integers, got "
                             f"{shape!r}", key="input-shape")
    if (seq is not None or input_shapes) and not name.lower().endswith(".onnx"):
        raise UsageError(f"--seq and --input-shape pin the inputs of an .onnx file or set "
                         f"the tokens of a zoo sequence network, not of {name!r}",
                         key="seq" if seq is not None else "input-shape")


def read_graph(name_or_path: str | os.PathLike, seed: int = 0, *, seq: int | None = None,
               input_shapes: Mapping[str, tuple[int, ...]] | None = None,
               kv_cache: int | None = None) -> Graph:
    """The graph of a zoo name (synthetic weights from `seed`; `seq` tokens for a zoo
    sequence network) or of a native/ONNX file (`seq` / `input_shapes` pin an ONNX
    file's unknown input dimensions, `import_onnx`).

    Raises WorkloadError (key "net") for an unknown name, a missing file or an unknown
    file type; reader errors name the file and the key inside it; UsageError (key "seq"
    / "input-shape") for a bad pin, a `seq` the zoo network cannot take, or a pin given
    for a source that takes none.
    """
    name = os.fspath(name_or_path)
    if kv_cache is not None:
        return decode_graph(name, int(seed), kv_cache, seq)
    if name in ZOO and seq is not None and not input_shapes:
        return sequence_graph(name, int(seed), seq)
    _check_pins(name, seq, input_shapes)
    if name in ZOO:
        return ZOO[name](int(seed))
    known = ", ".join(sorted(ZOO))
    if not _is_file_name(name) and not os.path.exists(name):
        raise WorkloadError(f"unknown network '{name}'; known: {known}", key="net")
    if not os.path.exists(name):
        raise WorkloadError(f"network file '{name}' does not exist (built-in networks: "
                            f"{known})", key="net")
    suffix = Path(name).suffix.lower()
    if suffix in NATIVE_SUFFIXES:
        from imcsim.workload.native import read_native

        return read_native(name)
    if suffix == ".onnx":
        from imcsim.workload.onnx_import import import_onnx

        return import_onnx(name, seq=seq, input_shapes=input_shapes)
    raise WorkloadError(f"unknown network file type '{suffix}' (use "
                        f"{', '.join(FILE_SUFFIXES)})", source=name, key="net")


def _float_quantizer(sparsity: float | None) -> tuple[Quantizer, str]:
    if sparsity is None:
        return ternarize_twn, f"TWN (delta={TWN_DELTA_FACTOR}*mean|W|)"
    short = f"{sparsity:.2f}"
    shown = short if float(short) == sparsity else repr(sparsity)
    return partial(ternarize_to_sparsity, sparsity=sparsity), \
        f"layer-wise top-k to sparsity {shown}"


def _file_quantizer(graph: Graph, layers: list[ComputeLayer], float_desc: str) -> str:
    kept = [la for la in layers if graph.initializers[la.weight_name].is_quantized]
    parts = []
    if kept:
        bits = "/".join(str(b) for b in sorted({la.weight_bits for la in kept}))
        parts.append(f"levels from the file kept ({len(kept)} layers, {bits}-bit)")
    if len(kept) < len(layers):
        parts.append(f"{float_desc} of the file's float weights "
                     f"({len(layers) - len(kept)} layers)")
    return "; ".join(parts)


def sequence_graph(name: str, seed: int, seq: object) -> Graph:
    """A sequence network of the zoo over `seq` tokens."""
    if name not in SEQUENCE_NETWORKS:
        takes = ", ".join(sorted(SEQUENCE_NETWORKS))
        raise UsageError(f"{name} has no token sequence to set (networks that do: {takes})",
                         key="seq")
    if not is_int_in(seq, 1, MAX_SEQ[name]):
        raise UsageError(f"{name} takes 1..{MAX_SEQ[name]} tokens, got {seq!r}", key="seq")
    return SEQUENCE_NETWORKS[name](seed, int(seq))


def decode_graph(name: str, seed: int, kv_cache: object, seq: int | None) -> Graph:
    """One decode step of a zoo decoder (gpt2) with a KV cache of `kv_cache` tokens."""
    if name not in DECODERS:
        raise UsageError(f"{name} is no decoder with a KV cache (decoders: "
                         f"{', '.join(sorted(DECODERS))})", key="kv-cache")
    if seq is not None:
        raise UsageError("a decode step takes one new token: give --kv-cache, not --seq",
                         key="seq")
    top = MAX_SEQ[name]  # the cache after the step, the new token included
    if not is_int_in(kv_cache, 1, top):
        raise UsageError(f"{name} caches 1..{top} tokens (the new one included), got "
                         f"{kv_cache!r}", key="kv-cache")
    return DECODERS[name](seed, 1, int(kv_cache))


def load_network(name_or_path: str | os.PathLike, sparsity: float | None = None,
                 seed: int = 0, *, seq: int | None = None,
                 input_shapes: Mapping[str, tuple[int, ...]] | None = None,
                 kv_cache: int | None = None) -> Network:
    """Load a zoo network (by name) or a graph file (.yaml/.yml/.json native, .onnx),
    quantize its weights and lower it to `ComputeLayer`s.

    Weight rule:
      * zoo names: synthetic float weights drawn with `seed`, then ternarized: TWN (delta
        = 0.7 * mean|W| per layer) when `sparsity` is None, else the layer-wise top-k
        quantizer zeroing exactly round(sparsity * N) weights per layer.
      * files: weights that are already quantized (integer levels: QONNX Quant, ONNX
        Q/DQ, native int8/ternary2) keep their levels, scales and bit width, whatever
        `sparsity` is. Float weights are ternarized as for the zoo (TWN, or top-k to
        `sparsity` if given). `seed` is not used (nothing random is drawn).
    Weights are drawn (zoo) and ternarized one tensor per task on a thread pool (see
    `parallel`, `IMCSIM_THREADS`); the result does not depend on the number of threads.
    `seq` sets a zoo sequence network's tokens (bert_base, gpt2; default 128);
    `kv_cache` N makes a zoo decoder (gpt2) one decode step with N cached tokens;
    `seq` / `input_shapes` pin an ONNX file's unknown input dimensions (a sequence
    length; whole shapes by input name; see `import_onnx`).
    `Network.source` is the zoo name or the path as given. Raises WorkloadError (key
    "net") for an unknown name or missing file, reader errors naming the file and key,
    UsageError (key "sparsity" / "seed" / "seq" / "input-shape") for a bad sparsity,
    seed, sequence length or pin.
    """
    if sparsity is not None:
        sparsity = _check_sparsity(sparsity)
    if not is_int_in(seed, 0):
        raise UsageError(f"seed must be a non-negative integer, got {seed!r}", key="seed")
    source = os.fspath(name_or_path)
    with deferred_weights():  # zoo weights are drawn in `lower`'s tasks, in parallel
        graph = read_graph(source, int(seed), seq=seq, input_shapes=input_shapes,
                           kv_cache=kv_cache)
    quantize, desc = _float_quantizer(sparsity)
    layers = lower(graph, quantize, weight_bits=2, source=source, threads=None)
    work = graph_work(graph, infer_shapes(graph, source=source), source)
    if source in ZOO:
        desc = f"{desc}, seed {seed}" + (f", {seq} tokens" if seq is not None else "") + (
            f", one decode step over {kv_cache} cached tokens" if kv_cache is not None else "")
    else:
        desc = _file_quantizer(graph, layers, desc)
    shape = graph.inputs[0].known_shape if graph.inputs else None
    return Network(name=graph.name, layers=tuple(layers),
                   total_params=trainable_parameter_count(graph),
                   input_shape=tuple(shape[1:]) if shape else (), quantizer=desc,
                   source=source, other_ops=tuple(w for w in work if w.kind != WEIGHT),
                   meta=tuple(graph.meta.items()))
