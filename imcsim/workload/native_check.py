"""Structure checks of a native graph document (the parsed YAML/JSON), with key paths.

Every failure is WorkloadError(source=<file>, key=<path like "nodes[3].attrs.pads">).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from imcsim.errors import WorkloadError

_ENCODINGS = ("float32", "int8", "ternary2", "raw")
_SCALAR = (bool, int, float, str)


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class DocChecker:
    """Type and key checks for one document; `src` is the file named in errors."""

    def __init__(self, src: str):
        self.src = src

    def fail(self, path: str, msg: str) -> WorkloadError:
        return WorkloadError(msg, source=self.src, key=path or None)

    def mapping(self, obj: Any, path: str, keys: dict[str, bool]) -> dict:
        """`obj` must be a mapping with string keys from `keys` (True = required)."""
        if not isinstance(obj, dict):
            raise self.fail(path, f"expected a mapping, got {type(obj).__name__}")
        for k in obj:
            if k not in keys:
                raise self.fail(_join(path, str(k)), f"unknown key {k!r} (allowed: "
                                                     f"{', '.join(keys)})")
        for k, required in keys.items():
            if required and k not in obj:
                raise self.fail(_join(path, k), "required key is missing")
        return obj

    def string(self, obj: Any, path: str) -> str:
        if not isinstance(obj, str):
            raise self.fail(path, f"expected a string, got {obj!r}")
        return obj

    def names(self, obj: Any, path: str, allow_empty: bool = False) -> list[str]:
        """A list of tensor names (empty strings allowed for omitted optional inputs)."""
        if not isinstance(obj, list):
            raise self.fail(path, f"expected a list of names, got {obj!r}")
        for i, v in enumerate(obj):
            self.string(v, _join(path, i))
            if not v and not allow_empty:
                raise self.fail(_join(path, i), "empty name")
        return obj

    def shape(self, obj: Any, path: str, allow_null: bool = False) -> None:
        if obj is None and allow_null:
            return
        if not isinstance(obj, list) or not all(
                isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in obj):
            raise self.fail(path, f"expected a list of non-negative ints, got {obj!r}")

    def dtype(self, obj: Any, path: str) -> None:
        self.string(obj, path)
        try:
            ok = np.dtype(obj).kind in "biuf" and np.dtype(obj).name == obj
        except TypeError:
            ok = False
        if not ok:
            raise self.fail(path, f"unknown or non-numeric dtype {obj!r}")

    def entries(self, doc: dict, key: str, keys: dict[str, bool],
                check: Callable[[dict, str], None]) -> list[dict]:
        """The list `doc[key]`, each entry a mapping with `keys` checked by `check`."""
        items = doc[key]
        if not isinstance(items, list):
            raise self.fail(key, f"expected a list, got {type(items).__name__}")
        seen: set[str] = set()
        for i, entry in enumerate(items):
            path = _join(key, i)
            self.mapping(entry, path, keys)
            self.string(entry["name"], _join(path, "name"))
            check(entry, path)
            if key == "initializers" and entry["name"] in seen:
                raise self.fail(_join(path, "name"), f"duplicate initializer {entry['name']!r}")
            seen.add(entry["name"])
        return items

    def input_entry(self, d: dict, path: str) -> None:
        self.shape(d["shape"], _join(path, "shape"), allow_null=True)
        if "dtype" in d:
            self.dtype(d["dtype"], _join(path, "dtype"))

    def init_entry(self, d: dict, path: str) -> None:
        self.shape(d["shape"], _join(path, "shape"))
        self.dtype(d["dtype"], _join(path, "dtype"))
        enc = d["encoding"]
        if enc not in _ENCODINGS:
            raise self.fail(_join(path, "encoding"), f"unknown encoding {enc!r} (known: "
                                                     f"{', '.join(_ENCODINGS)})")
        need = {"float32": "float32", "int8": "int8", "ternary2": "int8"}.get(enc)
        if need and d["dtype"] != need:
            raise self.fail(_join(path, "dtype"), f"encoding {enc} needs dtype {need}")
        bits = d.get("bits")
        if bits is not None and (not isinstance(bits, int) or isinstance(bits, bool)
                                 or not 1 <= bits <= 32):
            raise self.fail(_join(path, "bits"), f"expected an int in 1..32, got {bits!r}")
        if d.get("scale_shape") is not None:
            self.shape(d["scale_shape"], _join(path, "scale_shape"))

    def node_entry(self, d: dict, path: str) -> None:
        self.string(d["op"], _join(path, "op"))
        self.names(d["inputs"], _join(path, "inputs"), allow_empty=True)
        self.names(d["outputs"], _join(path, "outputs"))
        attrs = d.get("attrs")
        if attrs is None:
            return
        if not isinstance(attrs, dict):
            raise self.fail(_join(path, "attrs"), f"expected a mapping, got {attrs!r}")
        for k, v in attrs.items():
            ok = isinstance(v, _SCALAR) or (isinstance(v, list)
                                            and all(isinstance(x, _SCALAR) for x in v))
            if not isinstance(k, str) or not ok:
                raise self.fail(_join(_join(path, "attrs"), str(k)),
                                f"attribute values are ints, floats, strings or lists of "
                                f"them, got {v!r}")
