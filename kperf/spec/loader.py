"""Reading spec files: YAML (the safe subset), errors as one-line :class:`SpecError`.

A spec file is refused, with one line naming the file (and line and column where
there is one), when it

* is larger than :data:`MAX_FILE_BYTES` or not UTF-8 text;
* is not well-formed YAML, or its top level is not a mapping;
* nests collections deeper than :data:`MAX_NESTING` levels;
* repeats a key in one mapping (YAML forbids it; a plain loader keeps the last one);
* uses aliases (``*name``) that expand the document by more than
  :data:`MAX_ALIAS_EXPANSION` nodes and characters (a "billion laughs" document), or
  an alias inside the collection it names (a recursive document).
"""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from kperf.errors import SpecError
from kperf.spec.base import spec_error_from

M = TypeVar("M", bound=BaseModel)

MAX_FILE_BYTES = 10 * 1024 * 1024
"""10 MiB: the largest spec file read. Hand-written specs are kilobytes, a cluster of
30,000 Services a few megabytes; 10 MiB of the smallest YAML nodes (``- 1``) takes
about 30 s and 1 GB to read."""
MAX_NESTING = 64
"""Deepest nesting of YAML collections: specs nest six levels or so. The composer
recurses once per level (5,000 ``[`` was a RecursionError)."""
MAX_ALIAS_EXPANSION = 1_000_000
"""Nodes plus scalar characters that aliases may add to a document when expanded (an
alias counts as a copy of what it names): generous for anchors that share a
deployment or a workload, while a 342-byte document of 9 levels of 9 aliases would
expand to 387 million nodes."""


def read_text(path: str | Path, max_bytes: int | None = None) -> str:
    """A file's text (UTF-8, universal newlines), or a one-line SpecError naming the file
    (and the line and column of a byte that is not UTF-8). ``max_bytes``: refuse larger
    files, reading no more than that (a device such as /dev/zero included)."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            raw = f.read() if max_bytes is None else f.read(max_bytes + 1)
    except FileNotFoundError:
        raise SpecError(str(p), str(p), "file not found") from None
    except OSError as exc:
        raise SpecError(str(p), str(p), f"cannot read file ({exc.strerror})") from None
    if max_bytes is not None and len(raw) > max_bytes:
        try:
            st_size = p.stat().st_size
        except OSError:
            st_size = 0
        # a device or a pipe has no size: what was read is all that is known
        size = f"{st_size} bytes" if st_size > max_bytes else f"more than {max_bytes} bytes"
        raise SpecError(str(p), size, f"file too large; allowed: at most {max_bytes} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError(f"{p}:{line}:{column}", raw[exc.start:exc.end],
                        "not UTF-8 text; allowed: a UTF-8 encoded file") from None
    # as Path.read_text does: \r\n and \r become \n
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


class _Refused(yaml.MarkedYAMLError):
    """A well-formed document kperf refuses: the mark, the value shown, what is allowed."""

    def __init__(self, mark: Any, value: Any, allowed: str) -> None:
        super().__init__(problem=allowed, problem_mark=mark)
        self.value = value
        self.allowed = allowed


_SIZE = "kperf_expanded_size"
"""The attribute of a composed node holding its size with every alias expanded."""
_LINE = object()
"""The value of a refusal that shows the document's text where the mark points."""


class _Checks(Composer):
    """A composer that refuses deep nesting, duplicate keys, recursive aliases and alias
    bombs while composing, before anything is expanded.

    The composer shares an aliased node rather than copying it, so composing a bomb is
    cheap; everything downstream (validation, repr, JSON) would expand it. Each node's
    expanded size (1 + the characters of a scalar + its children's expanded sizes) is
    known when it is complete; every alias adds the size of what it names.
    """

    def __init__(self) -> None:
        Composer.__init__(self)  # not super(): the parser's __init__ takes the stream
        self._depth = 0
        self._alias_added = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[attr-defined]
        node: Any
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)
            known = getattr(node, _SIZE, None)
            if known is None:
                raise _Refused(event.start_mark, f"*{event.anchor}",
                               "an alias inside the collection it names (a recursive "
                               "document); allowed: aliases of complete nodes")
            self._alias_added += known
            if self._alias_added > MAX_ALIAS_EXPANSION:
                raise _Refused(event.start_mark, f"*{event.anchor}",
                               f"aliases expand the document by more than "
                               f"{MAX_ALIAS_EXPANSION} nodes and characters; allowed: at "
                               f"most {MAX_ALIAS_EXPANSION} (repeat less through aliases)")
            return node
        collection = isinstance(event, yaml.CollectionStartEvent)
        if collection:
            self._depth += 1
            if self._depth > MAX_NESTING:
                raise _Refused(event.start_mark, _LINE,
                               f"collections nested more than {MAX_NESTING} deep; allowed: "
                               f"at most {MAX_NESTING} levels")
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= collection
        if isinstance(node, yaml.ScalarNode):
            size = 1 + len(node.value)
        elif isinstance(node, yaml.SequenceNode):
            size = 1 + sum(getattr(child, _SIZE) for child in node.value)
        else:
            size = 1 + sum(getattr(k, _SIZE) + getattr(v, _SIZE) for k, v in node.value)
            self._check_unique_keys(node)
        setattr(node, _SIZE, size)  # set once complete: an alias to a node without it is
        # an alias inside that node
        return node

    def _check_unique_keys(self, node: Any) -> None:
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == MERGE_TAG:
                continue
            key = self.construct_object(key_node)
            if not isinstance(key, Hashable):
                continue
            first: Any = seen.setdefault(key, key_node.start_mark)
            if first is not key_node.start_mark:
                raise _Refused(key_node.start_mark, key,
                               f"duplicate key (first on line {first.line + 1}); allowed: "
                               "each key once in a mapping")

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)  # type: ignore[misc]
        except (ValueError, OverflowError) as exc:  # a date such as 2024-13-45, a
            # 5,000-digit integer: Python's own conversion fails
            why = str(exc).split(":")[0]  # Python's hint on raising its limit is no help
            raise _Refused(node.start_mark, node.value if isinstance(node.value, str)
                           else None, f"cannot read this value ({why}); allowed: a valid "
                           "YAML scalar") from None


MERGE_TAG = "tag:yaml.org,2002:merge"

if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class _SpecLoader(_Checks, CParser, SafeConstructor, Resolver):
        """libyaml's parser (four times faster than PyYAML's), kperf's composer, the
        constructor and resolver of ``yaml.safe_load``: the same Python values."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            _Checks.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

else:  # pragma: no cover - PyYAML built without libyaml

    class _SpecLoader(_Checks, yaml.SafeLoader):  # type: ignore[no-redef]
        """``yaml.SafeLoader`` with kperf's composer."""

        def __init__(self, stream: str) -> None:
            yaml.SafeLoader.__init__(self, stream)
            _Checks.__init__(self)


def _line_at(text: str, mark: Any) -> str:
    """The text from ``mark`` to the end of its line (at most 80 characters)."""
    lines = text.splitlines()
    return lines[mark.line][mark.column:mark.column + 80] if mark.line < len(lines) else ""


def _load(text: str) -> Any:
    loader = _SpecLoader(text)  # the reader checks the characters here
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def read_yaml(path: str | Path) -> dict[str, Any]:
    """The mapping at the top of a YAML file, or a SpecError naming the file and line."""
    p = Path(path)
    text = read_text(p, MAX_FILE_BYTES)
    try:
        data = _load(text)
    except _Refused as exc:
        mark: Any = exc.problem_mark
        value = _line_at(text, mark) if exc.value is _LINE else exc.value
        raise SpecError(f"{p}:{mark.line + 1}:{mark.column + 1}", value,
                        exc.allowed) from None
    except yaml.reader.ReaderError as exc:  # a control character the YAML reader refuses
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise SpecError(f"{p}:{line}:{column}", chr(exc.character) if isinstance(
            exc.character, int) else exc.character, f"malformed YAML: {exc.reason}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{p}:{mark.line + 1}:{mark.column + 1}" if mark else str(p)
        problem = getattr(exc, "problem", None) or "malformed YAML"
        context = getattr(exc, "context", None)
        if context and problem.startswith("but "):  # "expected a single document in
            problem = f"{context}, {problem}"  # the stream, but found another document"
        lines = text.splitlines()
        bad_line = lines[mark.line] if mark is not None and mark.line < len(lines) else ""
        if "nesting depth" in problem:  # libyaml's own limit (1,000), met scanning ahead
            raise SpecError(where, bad_line, f"collections nested more than {MAX_NESTING} "
                            f"deep; allowed: at most {MAX_NESTING} levels") from None
        raise SpecError(where, bad_line, f"malformed YAML: {problem}") from None
    except RecursionError:  # guarded by MAX_NESTING; kept so no stack ever shows
        raise SpecError(str(p), None, "nested too deeply to read; allowed: at most "
                        f"{MAX_NESTING} levels") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SpecError(str(p), data, "allowed: a YAML mapping of keys to values at the top")
    return data


def parse(model: type[M], data: Any, prefix: str = "") -> M:
    """Validate ``data`` as ``model``; the first problem becomes a one-line SpecError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise spec_error_from(exc, prefix, data) from None


def load_cluster(path: str | Path) -> Any:
    """Load a cluster file (or an experiment file's ``cluster:`` section)."""
    from kperf.spec.cluster import ClusterSpec

    data = read_yaml(path)
    if "cluster" in data and isinstance(data["cluster"], dict):
        return parse(ClusterSpec, data["cluster"], "cluster")
    return parse(ClusterSpec, data)
