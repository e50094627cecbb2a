"""Reading a YAML (or JSON) file safely, every failure an error naming the file.

What an input file can do to a reader, and what it gets instead:

    not a regular file (a FIFO, a device, a directory)    refused before opening
    larger than `max_bytes`                               refused before reading
    not UTF-8 (Latin-1, UTF-16, binary)                   "not UTF-8 text" with the offset
    nesting deeper than MAX_DEPTH (e.g. [[[[...]]]])      refused while parsing
    aliases (*name; the "billion laughs" expansion)       refused: configs do not need them
    a key given twice in one mapping                      refused, naming the key and lines
    control characters in the text (escapes, NUL)         refused, naming the line
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from imcsim.errors import ConfigError, ImcsimError

MAX_BYTES = 4 * 1024 * 1024  # an arch, circuit or sweep file is a few kB
MAX_DEPTH = 32  # mappings and lists inside one another


def read_text_file(path: str | Path, *, error: type[ImcsimError] = ConfigError,
                   max_bytes: int = MAX_BYTES) -> str:
    """The UTF-8 text of regular file `path` (at most `max_bytes`), else `error`."""
    source = str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise error("file not found", source=source) from None
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror}", source=source) from None
    if not stat.S_ISREG(info.st_mode):
        raise error("not a regular file", source=source)
    if info.st_size > max_bytes:
        raise error(f"file too large ({info.st_size:,} bytes; at most {max_bytes:,})",
                    source=source)
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror}", source=source) from None
    if len(data) > max_bytes:
        raise error(f"file too large (more than {max_bytes:,} bytes)", source=source)
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise error("UTF-16 text; save the file as UTF-8", source=source)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
                    source=source) from None
    bad = next((i for i, ch in enumerate(text)
                if (ord(ch) < 32 and ch not in "\n\r\t") or 0x7f <= ord(ch) < 0xa0), None)
    if bad is not None:
        line = text.count("\n", 0, bad) + 1
        raise error(f"control character 0x{ord(text[bad]):02x} at line {line}", source=source)
    return text


class StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader without aliases, with a nesting limit and no duplicate keys."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not supported",
                                              self.peek_event().start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested deeper than {MAX_DEPTH} levels",
                    self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    first = seen.setdefault(key, line)
                except TypeError:  # an unhashable key: the base class reports it
                    continue
                if first != line:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (lines {first} and {line})",
                        key_node.start_mark)
        return super().construct_mapping(node, deep)


def parse_yaml(text: str, source: str, error: type[ImcsimError] = ConfigError) -> Any:
    """The document in YAML `text` (file `source`), parsed by `StrictLoader`."""
    try:
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise error(f"malformed YAML{where}: {problem}", source=source) from None
    except RecursionError:
        raise error(f"nested deeper than {MAX_DEPTH} levels", source=source) from None


def read_yaml(path: str | Path) -> dict:
    """The top-level mapping of YAML file `path` (ConfigError naming the file otherwise)."""
    source = str(path)
    raw = parse_yaml(read_text_file(path), source)
    if not isinstance(raw, dict):
        raise ConfigError("top level must be a mapping of sections", source=source)
    return raw
