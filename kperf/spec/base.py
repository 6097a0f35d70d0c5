"""Shared pieces of the spec layer: strict models, the bounds every number is checked
against, and turning pydantic errors into one line.

What every spec model (cluster, workload, experiment, calibration cases, testbed
overrides) refuses at load time, whatever the field:

* unknown keys;
* non-finite numbers (``.inf``, ``-.inf``, ``.nan``): ``allowed: a finite number``;
* ``true``/``false`` where a number is expected (YAML booleans are not integers):
  ``allowed: a whole number`` (or ``a finite number`` for a float field);
* values past the upper bounds below, which keep every run finite: each error names
  its bound (``allowed: at most 1073741824 bytes``).
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, model_validator

from kperf.errors import SpecError
from kperf.profiles import CNI_PROFILES, PROXY_MODES, TESTBEDS

# ---------------------------------------------------------------------------- bounds
# Upper bounds of the numbers a spec may hold. Each is far beyond real use; each keeps
# the work a value asks for finite (a request of 1e15 bytes is 1.5e10 segments; an
# open-loop rate of 1e12 per second is 5e10 arrivals in the default 0.05 s).

MAX_MESSAGE_BYTES = 1 << 30
"""1 GiB: the largest request, response, write or window (and the largest mean of a
size distribution). Netperf and iperf3 messages are bytes to megabytes; a 1 GiB
message is already 16,384 segments of 64 KiB to simulate."""
MAX_RATE_PER_S = 10_000_000
"""Requests per second per client, open loop: 10 M/s is 100 ns between requests, some
hundred times what one core's kernel TCP stack serves (a 0.05 s run at this rate is
500,000 requests per client, about 20 s of simulation)."""
MAX_DURATION_S = 3600.0
"""Simulated seconds of a warm-up, a measurement, a rolling-update start or interval:
one hour. Experiments measure for milliseconds to seconds; every simulated second at
the largest rate is 10 M events per client."""
MAX_SERVICE_US = MAX_DURATION_S * 1e6
"""Microseconds of application service time per request: at most the longest run."""
MAX_CV = 10.0
"""Coefficient of variation of a lognormal size or time: measured request and object
sizes have a cv of about 1 to 5; at 10, one draw in a million is already thousands of
times the mean."""
MAX_OUTSTANDING = 10_000
"""Closed-loop requests in flight per client (one connection each)."""
MAX_STREAMS = 1024
"""Parallel streams per client (iperf3 -P accepts at most 128)."""
MAX_APP_WORKERS = 10_000
"""Application worker threads per pod (one server of its worker pool each)."""
MAX_NODES = 65_536
"""Nodes of a cluster: the largest clusters run (GKE documents 65,000 nodes;
upstream Kubernetes tests 5,000)."""
MAX_PODS = 1_000_000
"""Pods of a cluster (replicas of all deployments plus the listed pods): upstream
Kubernetes tests 150,000; building a million takes about 10 s."""
MAX_PODS_PER_NODE = 2048
"""kubelet ``--max-pods`` (default 110; managed offerings allow up to 250-737)."""
MAX_REPLICATIONS = 10_000
"""Independent seeds per configuration of an experiment."""
MAX_RUNS = 100_000
"""Runs of an experiment: configurations of the sweep times replications."""
MAX_CORES_PER_NODE = 1024
"""Cores per node of a testbed (the largest servers have a few hundred)."""
MAX_NIC_GBPS = 10_000.0
"""NIC line rate in Gb/s: 10 Tb/s, over ten times the fastest NIC sold (800G)."""
MAX_CPU_SPEED_FACTOR = 10_000.0
"""Speed of a testbed's core relative to the reference core (a 2015 Xeon at 3.7 GHz);
tests use 1,000 for 'CPU is free'."""


def _bound_text(bound: float) -> str:
    return f"{bound:.0f}" if float(bound).is_integer() else f"{bound:g}"


def at_most(bound: float, unit: str) -> AfterValidator:
    """A validator refusing values above ``bound``: ``allowed: at most <bound> <unit>``
    (``None`` passes)."""
    text = f"allowed: at most {_bound_text(bound)}{' ' + unit if unit else ''}"

    def check(value: Any) -> Any:
        if value is not None and value > bound:
            raise ValueError(text)
        return value

    return AfterValidator(check)


MessageBytes = Annotated[int, at_most(MAX_MESSAGE_BYTES, "bytes")]
"""A message, write or window size in bytes (at most :data:`MAX_MESSAGE_BYTES`)."""
RatePerS = Annotated[float, at_most(MAX_RATE_PER_S, "per second")]
"""An open-loop rate per client (at most :data:`MAX_RATE_PER_S`)."""
Seconds = Annotated[float, at_most(MAX_DURATION_S, "seconds")]
"""A simulated time span in seconds (at most :data:`MAX_DURATION_S`)."""
Micros = Annotated[float, at_most(MAX_SERVICE_US, "microseconds")]
"""A service time in microseconds (at most :data:`MAX_SERVICE_US`)."""

# ---------------------------------------------------------------------------- names


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


# ---------------------------------------------------------------------------- booleans

WHOLE_NUMBER = "allowed: a whole number"
FINITE_NUMBER = "allowed: a finite number"


def _union_members(annotation: Any) -> tuple[Any, ...]:
    origin = typing.get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        return typing.get_args(annotation)
    return (annotation,)


def _unannotated(annotation: Any) -> Any:
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _admits_bool(annotation: Any) -> bool:
    if annotation is bool or annotation is Any or annotation is object:
        return True
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return any(isinstance(a, bool) for a in typing.get_args(annotation))
    return False


def bool_problem(annotation: Any, value: Any, path: str = "") -> FieldProblem | None:
    """A problem when ``value`` holds ``true``/``false`` where ``annotation`` wants a
    number (pydantic reads ``true`` as 1); None otherwise.

    Looks into lists, tuples and dicts of numbers and into nested models that are not
    :class:`StrictModel` (those check themselves): the stage costs of a testbed.
    """
    if not isinstance(value, bool | list | tuple | Mapping):
        return None  # the common case, first: a number, a string, None
    members = tuple(_unannotated(m) for m in _union_members(_unannotated(annotation)))
    if isinstance(value, bool):
        if any(_admits_bool(m) for m in members):
            return None
        if int in members:
            return FieldProblem(path, value, WHOLE_NUMBER)
        if float in members:
            return FieldProblem(path, value, FINITE_NUMBER)
        return None
    for member in members:
        origin = typing.get_origin(member)
        args = typing.get_args(member)
        if isinstance(value, list | tuple) and origin in (list, tuple, set, frozenset):
            fixed = origin is tuple and not (len(args) == 2 and args[1] is Ellipsis)
            item_types = args if fixed else (args[:1] or (Any,)) * len(value)
            for i, (item_type, item) in enumerate(zip(item_types, value, strict=False)):
                problem = bool_problem(item_type, item, _join(path, str(i)))
                if problem is not None:
                    return problem
            return None
        if isinstance(value, Mapping) and origin is dict and len(args) == 2:
            for key, item in value.items():
                problem = bool_problem(args[1], item, _join(path, str(key)))
                if problem is not None:
                    return problem
            return None
        if (isinstance(value, Mapping) and isinstance(member, type)
                and issubclass(member, BaseModel) and not issubclass(member, StrictModel)):
            return fields_bool_problem(member, value, path)
    return None


def fields_bool_problem(model: type[BaseModel], data: Mapping[str, Any],
                        path: str = "") -> FieldProblem | None:
    """:func:`bool_problem` for each field of ``model`` given in ``data``."""
    fields = _number_fields(model)
    for name, value in data.items():
        if type(value) in _MAY_HOLD_BOOLS and name in fields:
            problem = bool_problem(fields[name], value, _join(path, name))
            if problem is not None:
                return problem
    return None


_MAY_HOLD_BOOLS = frozenset({bool, list, tuple, dict})
"""Types of values that are or may contain a boolean (from YAML or JSON)."""


@functools.cache
def _number_fields(model: type[BaseModel]) -> dict[str, Any]:
    """The fields of ``model`` whose type mentions a number or a nested model."""

    def mentions(annotation: Any) -> bool:
        if annotation in (int, float):
            return True
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return True
        return any(mentions(a) for a in typing.get_args(annotation))

    return {name: f.annotation for name, f in model.model_fields.items()
            if mentions(f.annotation)}


def _join(path: str, part: str) -> str:
    return f"{path}.{part}" if path else part


class StrictModel(BaseModel):
    """A spec model: unknown keys are errors, values are validated on assignment, and
    numbers are finite and never booleans."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_booleans_as_numbers(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            problem = fields_bool_problem(cls, data)
            if problem is not None:
                raise problem
        return data


# ---------------------------------------------------------------------------- errors

_ALLOWED_BY_TYPE = {
    "finite_number": FINITE_NUMBER,
    "float_type": FINITE_NUMBER,
    "float_parsing": FINITE_NUMBER,
    "int_type": WHOLE_NUMBER,
    "int_parsing": WHOLE_NUMBER,
    "int_from_float": WHOLE_NUMBER,
    "int_parsing_size": WHOLE_NUMBER,
}


def _allowed_from(err: dict[str, Any]) -> str:
    """What pydantic says is allowed, phrased for a person."""
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    msg = str(err.get("msg", "invalid value"))
    if kind == "extra_forbidden":
        return "unknown key; remove it or check its spelling"
    if kind == "missing":
        return "this field is required"
    if kind in _ALLOWED_BY_TYPE:
        return _ALLOWED_BY_TYPE[kind]
    if kind == "literal_error" and "expected" in ctx:
        return f"allowed: {ctx['expected']}"
    if kind == "value_error":
        # our own validators raise ValueError("allowed: ...")
        return msg.removeprefix("Value error, ")
    if msg.startswith("Input should be "):
        return "allowed: " + msg.removeprefix("Input should be ")
    return msg[:1].lower() + msg[1:]


def _user_path(parts: list[str], data: Any, keep_last: bool = True) -> list[str]:
    """Drop the parts of a pydantic location that are not keys of the user's data
    (union member names and discriminator tags), keeping the final field name unless
    ``keep_last`` is false (a :class:`FieldProblem` names the field after it)."""
    out: list[str] = []
    cur = data
    for i, part in enumerate(parts):
        last = keep_last and i == len(parts) - 1
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
    problem = (err.get("ctx") or {}).get("error")
    if data is not None:
        parts = _user_path(parts, data, keep_last=not isinstance(problem, FieldProblem))
    if isinstance(problem, FieldProblem):
        parts = [*parts, *[x for x in problem.path.split(".") if x]]
        path = ".".join([prefix, *parts] if prefix else parts)
        return SpecError(path, problem.value, problem.allowed)
    path = ".".join([prefix, *parts] if prefix else parts)
    return SpecError(path, err.get("input"), _allowed_from(dict(err)))
