"""Tensor sequences an exporter leaves unoptimised, rewritten as tensor ops on import.

The dynamo exporter without its optimiser (`torch.onnx.export(..., dynamo=True,
optimize=False)`) writes `x.chunk(n)` / `x.split(s)` as SplitToSequence followed by one
SequenceAt per piece read. The IR has no sequence type, so while importing, a
SplitToSequence whose every reader is a SequenceAt is dropped and each SequenceAt at a
constant position p becomes a Slice of the split input along the axis (its piece: with a
scalar split s, [p*s, (p+1)*s); with a list of sizes, their running sums; with no split,
[p, p+1], then a Squeeze of the axis if keepdims=0). A negative position counts from the
end with a list of sizes or no split; over a scalar split (whose last piece may be
short) it is refused, naming the node. A sequence read by any other op, or that is a
graph output, is left as it is, and reported as an unsupported operator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from imcsim.errors import WorkloadError

INT64_MAX = np.iinfo(np.int64).max


class SequenceSplits:
    """Tracks the SplitToSequence nodes of one model (its node protos and graph
    outputs) and turns their SequenceAt readers into Slice (and Squeeze) node protos.
    `constant(name)` gives the value of a constant tensor (None if it is not one),
    `add_const(name, array)` makes an initializer."""

    def __init__(self, onnx: Any, nodes: list[Any], outputs: list[str],
                 constant: Callable[[str], Any], add_const: Callable[[str, np.ndarray], str],
                 src: str) -> None:
        self.onnx, self.constant, self.add_const, self.src = onnx, constant, add_const, src
        readers: dict[str, list[str]] = {name: ["(graph output)"] for name in outputs}
        for proto in nodes:
            for name in proto.input:
                readers.setdefault(name, []).append(proto.op_type)
        self.readers = readers
        self.pending: dict[str, Any] = {}  # sequence name -> its SplitToSequence proto

    def take(self, proto: Any) -> bool:
        """True if `proto` is a SplitToSequence to drop (every reader a SequenceAt, and
        the sequence no graph output)."""
        if proto.op_type != "SplitToSequence" or proto.domain not in ("", "ai.onnx"):
            return False
        readers = self.readers.get(proto.output[0], [])
        if not readers or any(op != "SequenceAt" for op in readers):
            return False
        self.pending[proto.output[0]] = proto
        return True

    def rewrite(self, proto: Any, key: str) -> list[Any] | None:
        """The Slice (and Squeeze) protos that replace SequenceAt `proto`, or None if it
        does not read a dropped sequence."""
        if proto.op_type != "SequenceAt" or proto.input[0] not in self.pending:
            return None
        split = self.pending[proto.input[0]]
        helper = self.onnx.helper
        attrs = {a.name: helper.get_attribute_value(a) for a in split.attribute}
        axis, keepdims = int(attrs.get("axis", 0)), int(attrs.get("keepdims", 1))
        position = self._const(proto.input[1], key, "position")
        if position.size != 1:
            raise WorkloadError(f"position must be a scalar, got shape {list(position.shape)}",
                                source=self.src, key=key)
        p = int(position.ravel()[0])
        sizes = None if len(split.input) < 2 or not split.input[1] else \
            self._const(split.input[1], key, f"split of {split.name or 'SplitToSequence'}")
        start, end = self._bounds(p, sizes, key)
        out = proto.output[0]
        name = proto.name or out
        squeeze = sizes is None and not keepdims
        sliced = f"{out}.slice" if squeeze else out
        ints = [self.add_const(f"{name}.{what}", np.asarray([v], np.int64))
                for what, v in (("starts", start), ("ends", end), ("axes", axis))]
        nodes = [helper.make_node("Slice", [split.input[0], *ints], [sliced], name=name)]
        if squeeze:
            nodes.append(helper.make_node("Squeeze", [sliced, ints[2]], [out],
                                          name=f"{name}.squeeze"))
        return nodes

    def _const(self, name: str, key: str, what: str) -> np.ndarray:
        value = self.constant(name)
        if value is None:
            raise WorkloadError(f"{what} must be a constant", source=self.src, key=key)
        return np.asarray(value)

    def _bounds(self, p: int, sizes: np.ndarray | None, key: str) -> tuple[int, int]:
        """[start, end) of piece `p` along the axis."""
        if sizes is None:  # pieces of 1
            return (p, p + 1) if p != -1 else (-1, INT64_MAX)
        if sizes.ndim == 0:
            s = int(sizes)
            if p < 0:
                raise WorkloadError("a negative position over a scalar split is not "
                                    "supported (the last piece may be short)",
                                    source=self.src, key=key)
            return p * s, (p + 1) * s
        ends = np.cumsum(sizes.astype(np.int64))
        n = len(ends)
        if not -n <= p < n:
            raise WorkloadError(f"position {p} out of range for {n} pieces",
                                source=self.src, key=key)
        p %= n
        return (0 if p == 0 else int(ends[p - 1])), int(ends[p])
