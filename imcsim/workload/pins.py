"""`--input-shape NAME=D1,D2,...` arguments -> {input name: shape} (for `import_onnx`)."""

from __future__ import annotations

from imcsim.errors import UsageError


def parse_input_shapes(specs: list[str]) -> dict[str, tuple[int, ...]]:
    """{"x": (1, 3, 224, 224)} from ["x=1,3,224,224"] (dims split by "," or "x").

    Raises UsageError (key "input-shape") for a malformed or repeated spec."""
    out: dict[str, tuple[int, ...]] = {}
    for spec in specs:
        name, sep, dims = spec.rpartition("=")
        try:
            shape = tuple(int(d) for d in dims.replace("x", ",").split(","))
        except ValueError:
            shape = ()
        if not sep or not name or not shape or min(shape) < 1 or name in out:
            raise UsageError(f"expected NAME=D1,D2,... with positive dims, once per input, "
                             f"got {spec!r}", key="input-shape")
        out[name] = shape
    return out
