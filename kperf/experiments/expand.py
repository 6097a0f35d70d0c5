"""Sweep expansion: an experiment becomes a list of fully resolved, seeded runs.

The sweep is the cartesian product of its value lists, in the order the keys are
given (the first key varies slowest), and each configuration is repeated
``replications`` times. That order is *sweep order*: the summary table is sorted
by it, whatever order the runs finished in.

Seeds. Each run's seed comes from the experiment seed through numpy's
``SeedSequence`` with a spawn key made of (a hash of the configuration's swept
values, the replication index). Runs are therefore independent streams, and a
run's seed depends only on *what* it is, not on which worker ran it, when, or at
which position of the sweep it sits. The last point matters for resuming: adding
a value to a sweep list does not shift the seeds (and so the run ids) of the
configurations already computed, so they are reused.

Run ids. A run is identified by the sha256 of the canonical JSON of its resolved
spec (testbed, cluster, workloads with every default filled in, and the seed); the
first 16 hex digits name its files. The same id means the same inputs, so a
finished run can be skipped safely; any change to the inputs (including a new
default in a newer kperf) gives a new id.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import TypeAdapter

from kperf.errors import SpecError
from kperf.profiles.base import Testbed
from kperf.spec.cluster import ClusterSpec
from kperf.spec.experiment import ExperimentSpec, canonical_json
from kperf.spec.workload import WorkloadSpec

RUN_ID_LENGTH = 16
"""Hex digits of the sha256 kept as a run id (64 bits: collisions are negligible)."""

_WORKLOADS = TypeAdapter(list[WorkloadSpec])


@dataclass(frozen=True)
class RunTask:
    """What a worker needs to execute one run: plain data only (JSON types).

    Sending the resolved spec as JSON rather than pickled models means every run
    is executed from exactly the text the manifest records, so re-running a row
    from the manifest repeats the same computation by construction.
    """

    run_id: str
    spec: dict[str, Any]
    keep_samples: bool = False


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: a configuration, a replication, its seed and resolved spec."""

    index: int
    """Position in sweep order (configuration-major, replication-minor)."""
    config_index: int
    replication: int
    params: dict[str, Any]
    """The swept values of this configuration, by dotted key, in sweep order."""
    seed: int
    testbed: Testbed
    cluster: ClusterSpec
    workloads: list[Any]
    spec: dict[str, Any] = field(repr=False)
    """The resolved spec as JSON types: ``testbed``, ``cluster``, ``workloads``, ``seed``."""
    run_id: str = ""

    @property
    def label(self) -> str:
        """``cluster.nodes=8 cluster.cni=calico-bgp`` (what progress lines show)."""
        return " ".join(f"{k}={_short(v)}" for k, v in self.params.items())

    def task(self, keep_samples: bool = False) -> RunTask:
        """The plain-data task a worker executes."""
        return RunTask(run_id=self.run_id, spec=self.spec, keep_samples=keep_samples)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else canonical_json(value)
    return text if len(text) <= 40 else text[:37] + "..."


def run_seed(experiment_seed: int, params: Mapping[str, Any], replication: int) -> int:
    """The seed of one run: independent per configuration and replication.

    ``SeedSequence(experiment_seed, spawn_key=(h, replication))`` where ``h`` is a
    64-bit hash of the configuration's swept values (canonical JSON, so key order
    does not matter). The result fits in a signed 64-bit integer (Parquet int64).
    """
    digest = hashlib.sha256(canonical_json(dict(params)).encode()).digest()
    h = int.from_bytes(digest[:8], "big")
    ss = np.random.SeedSequence(experiment_seed, spawn_key=(h, replication))
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def resolved_spec(
    testbed: Testbed, cluster: ClusterSpec, workloads: list[Any], seed: int
) -> dict[str, Any]:
    """The canonical, JSON-typed description of one run (what its id hashes)."""
    return {
        "testbed": testbed.model_dump(mode="json"),
        "cluster": cluster.model_dump(mode="json"),
        "workloads": [w.model_dump(mode="json") for w in workloads],
        "seed": seed,
    }


def run_id_of(spec: Mapping[str, Any]) -> str:
    """The run id of a resolved spec: sha256 of its canonical JSON, shortened."""
    return hashlib.sha256(canonical_json(dict(spec)).encode()).hexdigest()[:RUN_ID_LENGTH]


def models_from_spec(spec: Mapping[str, Any]) -> tuple[Testbed, ClusterSpec, list[Any], int]:
    """Rebuild (testbed, cluster, workloads, seed) from a resolved spec (e.g. the manifest)."""
    testbed = Testbed.model_validate(spec["testbed"])
    cluster = ClusterSpec.model_validate(spec["cluster"])
    workloads = _WORKLOADS.validate_python(spec["workloads"])
    return testbed, cluster, workloads, int(spec["seed"])


def configurations(spec: ExperimentSpec) -> list[dict[str, Any]]:
    """The swept values of every configuration, in sweep order."""
    keys = list(spec.sweep)
    return [dict(zip(keys, combo, strict=True))
            for combo in itertools.product(*(spec.sweep[k] for k in keys))]


def expand(spec: ExperimentSpec) -> list[RunSpec]:
    """Every run of the experiment, in sweep order, each validated and seeded.

    A combination of individually valid values can still be invalid together
    (1,000 nodes with a /24 node CIDR); that is a SpecError naming ``sweep`` and the
    combination, raised before anything runs.
    """
    runs: list[RunSpec] = []
    for config_index, params in enumerate(configurations(spec)):
        try:
            resolved = spec.resolve(params) if params else spec
        except SpecError as exc:
            raise SpecError(
                "sweep", params, f"this combination is invalid: {exc.one_line()}"
            ) from None
        for replication in range(spec.replications):
            seed = run_seed(spec.seed, params, replication)
            workloads = resolved.workloads
            rspec = resolved_spec(resolved.resolved_testbed, resolved.cluster, workloads, seed)
            runs.append(
                RunSpec(
                    index=len(runs),
                    config_index=config_index,
                    replication=replication,
                    params=dict(params),
                    seed=seed,
                    testbed=resolved.resolved_testbed,
                    cluster=resolved.cluster,
                    workloads=workloads,
                    spec=rspec,
                    run_id=run_id_of(rspec),
                )
            )
    return runs
