"""The experiment spec: a base scenario (testbed, cluster, workloads) plus a sweep grid.

An experiment file (a contract; later tools rely on these names)::

    name: cni-comparison          # results go to results/<name>/ unless --out is given
    seed: 1                       # one seed for the whole experiment
    replications: 3               # independent seeds per configuration
    testbed: 10g-xeon-2015        # a named testbed, or a mapping of Testbed fields,
                                  # optionally with ``base: NAME`` whose values it overrides
    cluster: {...}                # a ClusterSpec (kperf/spec/cluster.py)
    workload: {kind: rr, ...}     # one WorkloadSpec, or a list of them
    sweep:                        # cartesian product over dotted keys of the spec
      cluster.nodes: [2, 8, 32]
      cluster.cni: [flannel-vxlan, calico-bgp]
    keep_samples: false           # keep per-request samples of every run (Parquet)
    method: full                  # full (default) | decomposed (docs/decomposed.md)
    question: How much does the CNI cost?   # optional: shown above the report's Answer
    baseline: {cluster.cni: calico-bgp}     # optional: the configuration the report's
                                            # Answer compares every other one against

``question`` and ``baseline`` only shape the report: they change no run and no run id
(adding them to a finished experiment's file reruns nothing). Every ``baseline`` key
must be a sweep key and its value one of that key's swept values (errors name
``baseline.<key>``); keys the baseline leaves out keep each configuration's own value.

Sweep keys are dotted paths into the spec: ``cluster.nodes``, ``testbed.nic_rate_gbps``
(also when ``testbed`` is a name: the named testbed becomes the ``base``),
``workload.rate_per_s`` (one workload) or ``workload.0.rate_per_s`` (an item of a
list), ``cluster.deployments.1.replicas``, or a whole section (``testbed``, to compare
named testbeds). A key may name a field the file leaves at its default.

Validation happens once, up front, so a sweep never starts with a bad configuration:
every key must exist, every swept value is checked by building the run spec it
produces (errors name ``sweep.<key>`` and the bad value), and
:meth:`ExperimentSpec.resolve` validates each combination when the sweep expands.

Overrides are applied to the data *as the user wrote it* (not to the validated,
defaults-filled model) so derived defaults follow: sweeping a deployment's ``name``
also changes its default ``app`` label, as it would in the file.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator

from kperf.errors import SpecError
from kperf.profiles.base import Testbed
from kperf.spec.base import (
    MAX_CORES_PER_NODE,
    MAX_CPU_SPEED_FACTOR,
    MAX_NIC_GBPS,
    MAX_REPLICATIONS,
    MAX_RUNS,
    FieldProblem,
    StrictModel,
    at_most,
    fields_bool_problem,
    unknown_name,
)
from kperf.spec.cluster import ClusterSpec, with_host_network
from kperf.spec.loader import parse, read_yaml
from kperf.spec.workload import WORKLOAD_KINDS, WorkloadSpec

SWEEPABLE_SECTIONS = ("testbed", "cluster", "workload")
"""Top-level keys a sweep may vary (``name``, ``seed``... are fixed per experiment:
replications already give independent seeds)."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
MAX_NAME_CHARS = 128
"""An experiment's name names its results folder: well within a file name's 255 bytes."""

TESTBED_BOUNDS: dict[str, tuple[float, str]] = {
    "nic_rate_gbps": (MAX_NIC_GBPS, "Gb/s"),
    "cores_per_node": (MAX_CORES_PER_NODE, "cores"),
    "cpu_speed_factor": (MAX_CPU_SPEED_FACTOR, "times the reference core"),
}
"""Upper bounds of a testbed given as a mapping (named testbeds are kperf's own data)."""


def canonical_json(value: Any) -> str:
    """The canonical JSON text of ``value``: sorted keys, no spaces, exact floats.

    Used for run ids (sha256 of this text) and to compare swept values. Python's
    ``json`` writes floats with ``repr``, which round-trips exactly.
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=_json_default)


def _json_default(value: Any) -> Any:
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return item()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    return str(value)


def resolve_testbed(value: str | Mapping[str, Any], path: str = "testbed") -> Testbed:
    """A :class:`Testbed` from a name or a mapping of fields (with optional ``base``).

    A mapping without ``base`` starts from the Testbed defaults; with ``base: NAME``
    it starts from that named testbed and overrides the fields it gives (the name is
    kept unless the mapping sets ``name``).
    """
    from kperf.profiles import TESTBEDS

    def named(name: Any, where: str) -> Testbed:
        if not isinstance(name, str) or name not in TESTBEDS:
            raise SpecError(where, name, unknown_name("testbed", TESTBEDS))
        return TESTBEDS[name]

    if isinstance(value, str):
        return named(value, path)
    fields = dict(value)
    base = fields.pop("base", None)
    start = named(base, f"{path}.base").model_dump() if base is not None else {}
    problem = fields_bool_problem(Testbed, fields)
    if problem is not None:
        raise SpecError(f"{path}.{problem.path}", problem.value, problem.allowed)
    testbed = parse(Testbed, {**start, **fields}, path)
    for name, (bound, unit) in TESTBED_BOUNDS.items():
        if getattr(testbed, name) > bound:
            raise SpecError(f"{path}.{name}", getattr(testbed, name),
                            f"allowed: at most {bound:.0f} {unit}")
    return testbed


def _workloads_problem(value: Any) -> FieldProblem | None:
    """A clear error for a workload without a valid ``kind`` (pydantic's union error
    names its internal union type instead of the user's key)."""
    items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
    if isinstance(value, list) and not value:
        return FieldProblem("workload", value, "allowed: a workload mapping or a non-empty list")
    for i, item in items:
        where = "workload" if i is None else f"workload.{i}"
        if not isinstance(item, Mapping):
            if isinstance(item, tuple(WORKLOAD_KINDS.values())):
                continue
            return FieldProblem(where, item, "allowed: a mapping with a kind "
                                f"({', '.join(WORKLOAD_KINDS)})")
        kinds = ", ".join(WORKLOAD_KINDS)
        if "kind" not in item:
            return FieldProblem(f"{where}.kind", None, f"this field is required; allowed: {kinds}")
        if item["kind"] not in WORKLOAD_KINDS:
            return FieldProblem(f"{where}.kind", item["kind"], f"allowed: {kinds}")
    return None


class ExperimentSpec(StrictModel):
    """An experiment: see the module docstring for the file format."""

    name: str = Field(description="results go to results/<name>/ unless --out is given")
    description: str = ""
    seed: int = Field(0, ge=0, description="the experiment seed; run seeds derive from it")
    replications: Annotated[int, at_most(MAX_REPLICATIONS, "replications")] = Field(
        1, ge=1, description="independent seeds per configuration")
    testbed: str | dict[str, Any] = Field(
        "10g-xeon-2015", description="a testbed name, or a mapping of fields (with base: NAME)"
    )
    cluster: ClusterSpec = Field(default_factory=ClusterSpec)
    workload: WorkloadSpec | list[WorkloadSpec]
    sweep: dict[str, list[Any]] = Field(default_factory=dict)
    keep_samples: bool = False
    method: Literal["full", "decomposed"] = Field(
        "full", description="full: the discrete-event engine; decomposed: per-resource "
        "queue models combined along paths (docs/decomposed.md); a decomposed run's id "
        "differs from the full one's, full keeps its ids")
    question: str = Field("", description="the question the experiment answers (report)")
    baseline: dict[str, Any] = Field(
        default_factory=dict,
        description="swept key -> swept value: the configuration the report compares against")

    _testbed: Testbed | None = PrivateAttr(None)

    @model_validator(mode="before")
    @classmethod
    def _before(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            data = dict(data)
            if isinstance(data.get("testbed"), Testbed):
                data["testbed"] = data["testbed"].model_dump()
            if "workload" in data:
                problem = _workloads_problem(data["workload"])
                if problem is not None:
                    raise problem
        return data

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if len(v) > MAX_NAME_CHARS or not _NAME.fullmatch(v):
            raise ValueError(f"allowed: at most {MAX_NAME_CHARS} letters, digits, '.', '_' "
                             "and '-', starting with a letter or digit (it names a folder)")
        return v

    @model_validator(mode="after")
    def _after(self) -> ExperimentSpec:
        try:
            self._testbed = resolve_testbed(self.testbed)
        except SpecError as exc:
            raise FieldProblem(exc.path, exc.value, exc.allowed) from None
        runs = self.replications
        for key, values in self.sweep.items():
            path = f"sweep.{key}"
            if not values:
                raise FieldProblem(path, values, "allowed: a non-empty list of values")
            runs *= len(values)
            if runs > MAX_RUNS:
                raise FieldProblem(path, f"{len(values)} values", (
                    f"the sweep reaches {runs} runs (configurations × replications); "
                    f"allowed: at most {MAX_RUNS} runs"))
            self._check_key(key, values)
            seen: set[str] = set()
            for value in values:
                text = canonical_json(value)
                if text in seen:
                    raise FieldProblem(path, value, "allowed: distinct values (this one repeats)")
                seen.add(text)
                try:
                    self.resolve({key: value})
                except SpecError as exc:
                    raise FieldProblem(path, value, _because(key, exc)) from None
        self._check_baseline()
        with_host_network(self.cluster, self.workloads)  # network: host can be honoured
        return self

    def _check_baseline(self) -> None:
        """Raise a FieldProblem naming ``baseline.<key>`` unless every baseline key is
        swept and its value is one of the swept values."""
        for key, value in self.baseline.items():
            path = f"baseline.{key}"
            if key not in self.sweep:
                allowed = (f"allowed: a sweep key ({', '.join(self.sweep)})" if self.sweep
                           else "allowed: no baseline keys (this experiment sweeps nothing)")
                raise FieldProblem(path, value, f"not a sweep key; {allowed}")
            swept = self.sweep[key]
            if canonical_json(value) not in {canonical_json(v) for v in swept}:
                shown = ", ".join(v if isinstance(v, str) else canonical_json(v)
                                  for v in swept)
                raise FieldProblem(path, value, f"allowed: one of the swept values of "
                                   f"{key} ({shown})")

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ExperimentSpec:
        """Read and validate an experiment file; errors are one-line SpecErrors."""
        return parse(cls, read_yaml(Path(path)))

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> ExperimentSpec:
        """Validate a mapping (as read from YAML)."""
        return parse(cls, dict(data))

    # ------------------------------------------------------------------ views

    @property
    def resolved_testbed(self) -> Testbed:
        """The testbed of the base scenario (named or built from a mapping)."""
        assert self._testbed is not None
        return self._testbed

    @property
    def workloads(self) -> list[Any]:
        """The base scenario's workloads, always as a list."""
        return list(self.workload) if isinstance(self.workload, list) else [self.workload]

    def raw_data(self) -> dict[str, Any]:
        """The spec as the user wrote it: only the fields that were set (JSON types).

        Sweep overrides are applied to this, then it is validated again, so defaults
        that derive from other fields are derived again.
        """
        data = self.model_dump(mode="json", exclude_unset=True)
        # The discriminator must survive even when a model was built in Python
        # without spelling out its (defaulted) kind.
        if isinstance(self.workload, list):
            data["workload"] = [
                {**d, "kind": w.kind} for d, w in zip(data["workload"], self.workload, strict=True)
            ]
        else:
            data["workload"] = {**data["workload"], "kind": self.workload.kind}
        data.setdefault("testbed", self.testbed)
        data.setdefault("cluster", {})
        return data

    def full_data(self) -> dict[str, Any]:
        """The sweepable sections with every default filled in (JSON types)."""
        workload: Any = (
            [w.model_dump(mode="json") for w in self.workload]
            if isinstance(self.workload, list)
            else self.workload.model_dump(mode="json")
        )
        return {
            "testbed": self.resolved_testbed.model_dump(mode="json"),
            "cluster": self.cluster.model_dump(mode="json"),
            "workload": workload,
        }

    # ------------------------------------------------------------------ sweeps

    def _check_key(self, key: str, values: list[Any]) -> None:
        """Raise a FieldProblem naming ``sweep.<key>`` unless ``key`` exists in the spec."""
        path = f"sweep.{key}"
        parts = key.split(".")
        if parts[0] not in SWEEPABLE_SECTIONS:
            raise FieldProblem(path, values, "unknown sweep key; allowed: dotted keys under "
                               f"{', '.join(SWEEPABLE_SECTIONS)} (e.g. cluster.nodes)")
        if any(p == "" for p in parts):
            raise FieldProblem(path, values, "allowed: a dotted key without empty parts")
        full = self.full_data()
        raw = self.raw_data()
        problem = _missing(parts, full) if _missing(parts, raw) else None
        if problem is not None and values and " has no " in problem:
            # a field the spec leaves out of its dump unless set (fields added after
            # run ids existed, e.g. cluster.mesh.upstream_protocol) is still sweepable:
            # the run spec with the first value set says whether the key exists
            try:
                self.resolve({key: values[0]})
                problem = None
            except SpecError as exc:
                if exc.path == key and not exc.allowed.startswith("unknown key"):
                    problem = None  # the key exists; the values are checked per run
        if problem is not None:
            raise FieldProblem(path, values, problem)

    def resolve(self, overrides: Mapping[str, Any]) -> ExperimentSpec:
        """This spec with the dotted-key ``overrides`` applied and no sweep, validated.

        Shallower keys are applied first (stable otherwise), so sweeping ``testbed``
        names together with ``testbed.nic_rate_gbps`` overrides the rate of each
        named testbed. Errors are SpecErrors with paths into the resolved spec.
        """
        data = self.raw_data()
        full = self.full_data()
        for key in sorted(overrides, key=lambda k: k.count(".")):
            _assign(data, full, key.split("."), copy.deepcopy(overrides[key]))
        data["sweep"] = {}
        data.pop("baseline", None)  # names swept values: meaningless without the sweep
        return parse(ExperimentSpec, data)


def _because(key: str, exc: SpecError) -> str:
    """What is wrong with a swept value, from the error validating its run spec."""
    if exc.path == key:
        return exc.allowed
    return f"invalid because {exc.one_line()}"


def _missing(parts: list[str], data: Any) -> str | None:
    """None when the dotted ``parts`` lead somewhere in ``data``; else why not."""
    cur = data
    for i, part in enumerate(parts):
        here = ".".join(parts[:i]) or "the experiment"
        if isinstance(cur, Mapping):
            if part not in cur:
                keys = ", ".join(str(k) for k in cur)
                if here == "workload" and part.isdigit():
                    return "workload is a single mapping here; use workload.<field>"
                return f"unknown key: {here} has no {part!r}; allowed: {keys}"
            cur = cur[part]
        elif isinstance(cur, list):
            if not part.isdigit():
                hint = f"; use {here}.<index>.{part}" if here == "workload" else ""
                return f"unknown key: {here} is a list; allowed: an item index{hint}"
            if int(part) >= len(cur):
                return f"unknown key: {here} has {len(cur)} items (indices from 0)"
            cur = cur[int(part)]
        else:
            return f"unknown key: {here} is a value, not a mapping or list"
    return None


def _assign(data: Any, full: Any, parts: list[str], value: Any) -> None:
    """Set ``parts`` in the user's ``data``, copying missing parents from ``full``.

    A testbed given by name becomes ``{base: NAME}`` so a field can be overridden.
    """
    if parts[0] == "testbed" and len(parts) > 1 and isinstance(data.get("testbed"), str):
        data["testbed"] = {"base": data["testbed"]}
    cur, ref = data, full
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        key: Any = int(part) if isinstance(cur, list) else part
        ref_next = None
        if isinstance(ref, Mapping):
            ref_next = ref.get(part)
        elif isinstance(ref, list) and isinstance(key, int) and key < len(ref):
            ref_next = ref[key]
        if last:
            cur[key] = value
            return
        present = key in cur if isinstance(cur, dict) else key < len(cur)
        if not present or not isinstance(cur[key], dict | list):
            cur[key] = copy.deepcopy(ref_next) if isinstance(ref_next, dict | list) else {}
        cur, ref = cur[key], ref_next


def load_experiment(
    source: str | os.PathLike[str] | Mapping[str, Any] | ExperimentSpec,
) -> ExperimentSpec:
    """An ExperimentSpec from a path, a mapping, or an ExperimentSpec (returned as is)."""
    if isinstance(source, ExperimentSpec):
        return source
    if isinstance(source, Mapping):
        return ExperimentSpec.from_data(source)
    return ExperimentSpec.load(source)
