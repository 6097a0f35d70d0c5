"""Reading spec files: YAML via ``yaml.safe_load``, errors as one-line :class:`SpecError`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from kperf.errors import SpecError
from kperf.spec.base import spec_error_from

M = TypeVar("M", bound=BaseModel)


def read_text(path: str | Path) -> str:
    """A file's text, or a one-line SpecError naming the file."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(str(p), str(p), "file not found") from None
    except OSError as exc:
        raise SpecError(str(p), str(p), f"cannot read file ({exc.strerror})") from None


def read_yaml(path: str | Path) -> dict[str, Any]:
    """The mapping at the top of a YAML file, or a SpecError naming the file and line."""
    p = Path(path)
    text = read_text(p)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{p}:{mark.line + 1}:{mark.column + 1}" if mark else str(p)
        problem = getattr(exc, "problem", None) or "malformed YAML"
        lines = text.splitlines()
        bad_line = lines[mark.line] if mark is not None and mark.line < len(lines) else ""
        raise SpecError(where, bad_line, f"malformed YAML: {problem}") from None
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
