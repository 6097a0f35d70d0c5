"""Shared pieces of the spec layer: strict models and turning pydantic errors into one line."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from kperf.errors import SpecError
from kperf.profiles import CNI_PROFILES, PROXY_MODES, TESTBEDS


def unknown_name(kind: str, registry: Mapping[str, object]) -> str:
    """The 'allowed' text for a name missing from a registry."""
    return f"unknown {kind}; allowed: {', '.join(sorted(registry))}"


def _member_of(kind: str, registry: Mapping[str, object]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in registry:
            raise ValueError(unknown_name(kind, registry))
        return value

    return check


CniName = Annotated[str, AfterValidator(_member_of("CNI mode", CNI_PROFILES))]
"""A CNI mode name from the catalog (``kperf list cni``)."""
ProxyName = Annotated[str, AfterValidator(_member_of("proxy mode", PROXY_MODES))]
"""A proxy mode name (``kperf list proxy``)."""
TestbedName = Annotated[str, AfterValidator(_member_of("testbed", TESTBEDS))]
"""A named testbed (``kperf list testbeds``)."""


class FieldProblem(ValueError):
    """Raised inside a model validator to blame a specific field (dotted path, relative)."""

    def __init__(self, path: str, value: Any, allowed: str) -> None:
        super().__init__(allowed)
        self.path = path
        self.value = value
        self.allowed = allowed


class StrictModel(BaseModel):
    """A spec model: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _allowed_from(err: dict[str, Any]) -> str:
    """What pydantic says is allowed, phrased for a person."""
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    msg = str(err.get("msg", "invalid value"))
    if kind == "extra_forbidden":
        return "unknown key; remove it or check its spelling"
    if kind == "missing":
        return "this field is required"
    if kind == "literal_error" and "expected" in ctx:
        return f"allowed: {ctx['expected']}"
    if kind == "value_error":
        # our own validators raise ValueError("allowed: ...")
        return msg.removeprefix("Value error, ")
    if msg.startswith("Input should be "):
        return "allowed: " + msg.removeprefix("Input should be ")
    return msg[:1].lower() + msg[1:]


def _user_path(parts: list[str], data: Any) -> list[str]:
    """Drop the parts of a pydantic location that are not keys of the user's data
    (union member names and discriminator tags), keeping the final field name."""
    out: list[str] = []
    cur = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(cur, dict) and part in cur:
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            out.append(part)
            cur = cur[int(part)]
        elif last or not isinstance(cur, dict | list):
            out.append(part)
    return out


def spec_error_from(exc: ValidationError, prefix: str = "", data: Any = None) -> SpecError:
    """The first error of a pydantic ValidationError as a :class:`SpecError`.

    The path is dotted (``deployments.0.replicas``), prefixed with ``prefix`` (e.g.
    ``cluster``) when the model sits inside a larger file.
    """
    errors = exc.errors()
    # For union fields pydantic reports one error per member; the deepest one is the
    # member the user meant (a list of nodes with one bad IP, not "not an integer").
    err = max(errors, key=lambda e: len(e.get("loc", ())))
    parts = [str(p) for p in err.get("loc", ()) if not str(p).startswith("function-")]
    # pydantic adds the union member name ("int", "list[NodeEntry]") to the path of
    # union fields; drop those so the path is the user's key path.
    member_names = ("", "int", "str", "float", "bool")
    parts = [p for p in parts
             if p not in member_names and not p.startswith(("list[", "dict["))]
    if data is not None:
        parts = _user_path(parts, data)
    problem = (err.get("ctx") or {}).get("error")
    if isinstance(problem, FieldProblem):
        parts = [*parts, *[x for x in problem.path.split(".") if x]]
        path = ".".join([prefix, *parts] if prefix else parts)
        return SpecError(path, problem.value, problem.allowed)
    path = ".".join([prefix, *parts] if prefix else parts)
    return SpecError(path, err.get("input"), _allowed_from(dict(err)))
